"""The couple's agreement drafted and signed in a real consent service, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from services.common.auth.callers import TokenService
from tests.integration.support_relay import RelayWorld
from tests.unit.plan.support_builders import ALEX, SAM, TENANT


def consent(world: RelayWorld, url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = TokenService(world.settings).mint("clinician-1", TENANT, ["clinician"])
    answer = httpx.post(
        url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert answer.status_code in (200, 201), answer.text
    data: dict[str, Any] = answer.json()
    return data


def sign(world: RelayWorld, url: str, agreement_id: str, partner: str) -> None:
    body = {"partner_id": partner, "signed_on": "2026-01-05"}
    consent(world, url, f"/agreements/{agreement_id}/signatures", body)


def draft(world: RelayWorld, url: str, mode: str = "no-secrets") -> str:
    drafted = consent(world, url, "/agreements", {"partner_ids": [ALEX, SAM], "mode": mode})
    return str(drafted["agreement_id"])


def agreement_in_force(world: RelayWorld, url: str, mode: str = "no-secrets") -> str:
    """The couple's agreement, drafted and signed by both partners."""
    agreement_id = draft(world, url, mode)
    for partner in (ALEX, SAM):
        sign(world, url, agreement_id, partner)
    return agreement_id
