"""The world a referral integration test runs in: the stack's settings, the API, the consent URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from services.common.auth.callers import TokenService
from services.common.settings import Settings
from services.referral.application import ReferralApplication

TENANT = "practice-referral-it"


@dataclass
class ReferralWorld:
    """One test's referral API (on private schemas) and the consent service it asks."""

    settings: Settings
    referrals: ReferralApplication
    client: TestClient  # the referral API
    consent_url: str

    def auth(self, role: str, sub: str = "coord-1") -> dict[str, str]:
        token = TokenService(self.settings).mint(sub, TENANT, [role])
        return {"Authorization": f"Bearer {token}"}

    def consent(self, method: str, path: str, body: Any = None) -> Any:
        headers = self.auth("clinician", "clin-1")
        response = httpx.request(method, self.consent_url + path, json=body, headers=headers)
        assert response.status_code < 300, response.text
        return response.json()
