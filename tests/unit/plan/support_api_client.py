"""A TestClient on the plan API over an in-memory PlanApplication, with tokens per role."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi.testclient import TestClient

from services.common.auth.callers import TokenService
from services.common.settings import Settings
from tests.unit.plan.support_builders import ALEX, SAM, TENANT, THERAPIST

SETTINGS = Settings(env="dev")
TOKENS = TokenService(SETTINGS)


def headers(role: str = "clinician", tenant: str = TENANT, **extra: str) -> dict[str, str]:
    """A token of `role`; the clinician is the plans' couples therapist (on the care team)."""
    sub = THERAPIST if role == "clinician" else f"user-{role}"
    patient = ALEX if role == "client" else None
    token = TOKENS.mint(sub, tenant, [role], patient=patient)
    return {"Authorization": f"Bearer {token}", **extra}


def plan_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "unit_kind": "couple",
        "members": [{"client_id": ALEX, "sex": "female"}, {"client_id": SAM, "sex": "male"}],
        "clinicians": [
            {"clinician_id": THERAPIST, "roles": ["couples-therapist", "individual-therapist"]}
        ],
        "mix": {"joint": 2, "individual": 2},
        "starts_on": "2026-01-05",
    }
    body.update(overrides)
    return body


def goal_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "description": "reduce shutdowns from daily to weekly",
        "partners": [ALEX, SAM],
        "measure": "shutdowns",
        "unit": "per week",
        "baseline": 7,
        "target": 1,
        "due_on": "2026-06-01",
        "status": "active",
    }
    body.update(overrides)
    return body


def shift_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reason": "coercive-control",
        "rationale": "disclosed tracking of phone in session",
        "about_partner_id": ALEX,
        "decided_by": THERAPIST,
        "effective_on": "2026-02-01",
        "review_on": "2026-03-01",
        "mix": {"joint": 0, "individual": 4},
    }
    body.update(overrides)
    return body


def active_plan(client: TestClient) -> str:
    """Create and activate a couple's plan over HTTP; returns its id."""
    created = client.post("/plans", json=plan_body(), headers=headers())
    assert created.status_code == 201, created.text
    plan_id = str(created.json()["plan_id"])
    activated = client.post(
        f"/plans/{plan_id}/status",
        json={"status": "active"},
        headers=headers(**{"If-Match": '"1"'}),
    )
    assert activated.status_code == 200, activated.text
    return plan_id


def signed_agreement(
    consent: httpx.Client, mode: str, clinician: dict[str, str] | None = None
) -> str:
    """A couple's sharing agreement drafted and signed by both partners on the consent API."""
    auth = clinician or headers()
    drafted = consent.post(
        "/agreements", json={"partner_ids": [ALEX, SAM], "mode": mode}, headers=auth
    )
    assert drafted.status_code == 201, drafted.text
    agreement_id = str(drafted.json()["agreement_id"])
    for partner in (ALEX, SAM):
        signed = consent.post(
            f"/agreements/{agreement_id}/signatures",
            json={"partner_id": partner, "signed_on": "2026-01-05"},
            headers=auth,
        )
        assert signed.status_code == 201, signed.text
    return agreement_id


def today() -> str:
    return dt.date(2026, 3, 2).isoformat()


MARK = "marker-sam-alone-7f3c"


def couple_with_sams_material(client: TestClient) -> str:
    """An active plan with Sam's individual session, PHQ-9 and a shift about Sam."""
    plan_id = active_plan(client)
    session = {
        "format": "individual",
        "modality": "in-person",
        "held_on": "2026-01-12",
        "partner_id": SAM,
        "focus_issues": [MARK],
        "homework": [MARK],
    }
    assert client.post(f"/plans/{plan_id}/sessions", json=session, headers=headers()).is_success
    phq9 = {"partner_id": SAM, "measure": "phq-9", "items": [1] * 8 + [1], "taken_on": "2026-01-12"}
    assert client.post(f"/plans/{plan_id}/measurements", json=phq9, headers=headers()).is_success
    shift = shift_body(about_partner_id=SAM, rationale=MARK)
    assert client.post(f"/plans/{plan_id}/format-shifts", json=shift, headers=headers()).is_success
    return plan_id
