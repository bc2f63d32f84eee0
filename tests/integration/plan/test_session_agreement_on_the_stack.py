"""An individual session in couples work, checked against a real consent service over HTTP.

The plan API (in process, on the real PostgreSQL) asks the consent API (uvicorn on a local
port, its own schema) for the couple's agreement; the session's record reaches real Kafka.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from contracts.schemas import default_registry
from services.common.auth.callers import TokenService
from services.plan.application import PlanApplication
from tests.integration.plan.support_agreements import consent, draft, sign
from tests.integration.plan.test_plan_on_the_stack import active_plan, auth, relay_everything
from tests.integration.support_relay import RelayWorld, read_topic
from tests.unit.plan.support_builders import ALEX, SAM, TENANT

pytestmark = pytest.mark.integration
SESSION = {
    "format": "individual",
    "partner_id": ALEX,
    "modality": "telehealth",
    "held_on": "2026-01-12",
    "focus_issues": ["safety"],
}


def test_an_individual_session_is_recorded_only_under_the_agreement_both_partners_signed(
    world: RelayWorld, plans: PlanApplication, client: TestClient, consent_url: str
) -> None:
    plan_id = active_plan(client, world)
    url = f"/plans/{plan_id}/sessions"

    none = client.post(url, json=SESSION, headers=auth(world))
    assert none.status_code == 409, none.text
    assert none.json()["missing_agreement"] == {
        "partner_ids": [ALEX, SAM],
        "agreement_id": None,
        "unsigned": [],
    }

    agreement_id = draft(world, consent_url, "limited-secrets")
    sign(world, consent_url, agreement_id, ALEX)
    half = client.post(url, json=SESSION, headers=auth(world))
    assert half.status_code == 409, half.text
    assert half.json()["missing_agreement"]["unsigned"] == [SAM]

    sign(world, consent_url, agreement_id, SAM)
    held = {**SESSION, "share_by": "2026-01-30"}
    created = client.post(url, json=held, headers=auth(world))
    assert created.status_code == 201, created.text
    consent(world, consent_url, f"/agreements/{agreement_id}/revisions", {"mode": "no-secrets"})
    later = client.post(url, json={**SESSION, "held_on": "2026-01-19"}, headers=auth(world))
    assert later.status_code == 201, later.text  # the signed terms stay in force meanwhile

    sessions = client.get(f"/plans/{plan_id}", headers=auth(world)).json()["sessions"]
    assert [
        (s["sharing_agreement_id"], s["sharing_agreement_version"], s["share_by"]) for s in sessions
    ] == [(agreement_id, 1, "2026-01-30"), (agreement_id, 1, None)]
    due = client.get(
        "/worklists/confidences-due", params={"on": "2026-01-28"}, headers=auth(world)
    ).json()
    assert [(i["plan_id"], i["session_id"]) for i in due["items"]] == [
        (plan_id, created.json()["session_id"])
    ]

    # The consent service was asked as the plan service, never with the clinician's token.
    compliance = TokenService(world.settings).mint("comp-1", TENANT, ["compliance"])
    asked = httpx.get(
        f"{consent_url}/access-log",
        params={"user": "service:plan"},
        headers={"Authorization": f"Bearer {compliance}"},
        timeout=30,
    )
    assert asked.status_code == 200, asked.text
    found = [(a["route"], a["status"]) for a in asked.json()["items"]]
    assert found == [("GET /agreements", 200)] * 3  # the first question found no agreement: 404

    relay_everything(world, plans)
    records = read_topic(world.settings.kafka_bootstrap, world.topic, default_registry())
    recorded = [r for r in records if r.ce_type == "careledger.plan.SessionRecorded.v3"]
    assert [
        (r.body["sharing_agreement_id"], r.body["sharing_agreement_version"]) for r in recorded
    ] == [(agreement_id, 1)] * 2
    assert all("focus_issues" not in r.body for r in recorded)
