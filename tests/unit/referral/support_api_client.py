"""A TestClient on the referral API over the in-memory store, with tokens for each role."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from services.common.settings import Settings
from services.referral.application import ReferralApplication
from services.referral.bootstrap import create_app

SETTINGS = Settings(env="dev")


class Api:
    """Calls the API as a role of a practice: `api.post(path, json=..., role="integration")`."""

    def __init__(self, application: ReferralApplication) -> None:
        self.app = create_app(SETTINGS, application)
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def token(
        self, role: str = "coordinator", tenant: str = "practice-a", sub: str = "coord-1"
    ) -> str:
        minted: str = self.app.state.tokens.mint(sub, tenant, [role])
        return minted

    def headers(self, role: str, tenant: str, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, tenant)}", **(extra or {})}

    def get(
        self,
        path: str,
        *,
        role: str = "coordinator",
        tenant: str = "practice-a",
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        return self.client.get(path, headers=self.headers(role, tenant, headers), **kw)

    def post(
        self,
        path: str,
        *,
        role: str = "coordinator",
        tenant: str = "practice-a",
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        return self.client.post(path, headers=self.headers(role, tenant, headers), **kw)


def referral_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_id": str(uuid.uuid4()),
        "client_id": "client-1",
        "referral_type": "detox",
        "priority": "urgent",
        "reason": "withdrawal risk",
        "organization": {"id": "org-detox-1", "name": "Riverside Withdrawal Management"},
        "contact": {"name": "Intake desk", "phone": "555-0100"},
    }
    body.update(overrides)
    return body
