"""Odd but valid Unicode goes through PostgreSQL, the read model and Kafka unchanged; NUL never in.

The plan's client ids end up as `plan_summaries` rows (text columns), the list filters on them
(`?subject=`) and they travel on the topic; its free text ends up in the store's JSON. A NUL
in any of them would break the projection for everyone, so the API refuses it and nothing is
stored.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.plan.application import PlanApplication
from tests.integration.plan.test_plan_on_the_stack import auth, read_until, relay_everything
from tests.integration.support_relay import RelayWorld
from tests.unit.plan.support_api_client import goal_body, plan_body

pytestmark = pytest.mark.integration

ODD_ID = "client-\u00a0\u202e\ufeff\U0001f600e\u0301\x01\x7f\uffff\U0010fffd"
ODD_TEXT = "nbsp\u00a0zwsp\u200brlo\u202ebom\ufeffline\u2028sep\u0085ctl\x01\x1f\x7fend\ufffe"


def members(a: str, b: str) -> list[dict[str, Any]]:
    return [{"client_id": a, "sex": "female"}, {"client_id": b, "sex": "male"}]


def test_odd_unicode_is_stored_projected_relayed_and_found_as_it_came(
    world: RelayWorld, plans: PlanApplication, client: TestClient
) -> None:
    created = client.post(
        "/plans", json=plan_body(members=members(ODD_ID, "client-b")), headers=auth(world)
    )
    assert created.status_code == 201, created.text
    plan_id = created.json()["plan_id"]
    goal = client.post(
        f"/plans/{plan_id}/goals",
        json=goal_body(description=ODD_TEXT, partners=[ODD_ID]),
        headers=auth(world),
    )
    assert goal.status_code == 201, goal.text

    found = client.get("/plans", params={"subject": ODD_ID}, headers=auth(world))
    assert found.status_code == 200, found.text
    assert [p["id"] for p in found.json()["items"]] == [plan_id]
    plan = client.get(f"/plans/{plan_id}", headers=auth(world)).json()
    assert [g["description"] for g in plan["goals"]] == [ODD_TEXT]

    relay_everything(world, plans)
    records = read_until(world, count=2)  # ids travel on Kafka; free text stays in the store
    added = [r for r in records if ".GoalAdded." in r.ce_type]
    assert [r.body["partners"] for r in added] == [[ODD_ID]]
    assert ODD_TEXT not in str([r.body for r in records])
    assert all("description" not in r.body for r in added)


def test_nul_in_an_id_is_refused_and_the_read_model_keeps_answering(
    world: RelayWorld, plans: PlanApplication, client: TestClient
) -> None:
    before = plans.recorder.max_notification_id() or 0
    for body in (
        plan_body(members=members("client-a\x00", "client-b")),
        plan_body(clinicians=[{"clinician_id": "clin\x00", "roles": ["couples-therapist"]}]),
    ):
        refused = client.post("/plans", json=body, headers=auth(world))
        assert refused.status_code == 422, refused.text
        assert "U+0000" in next(iter(refused.json()["errors"].values()))
    assert (plans.recorder.max_notification_id() or 0) == before
    listing = client.get("/plans", params={"subject": "client-a"}, headers=auth(world))
    assert listing.status_code == 200
    refused_filter = client.get("/plans", params={"subject": "a\x00"}, headers=auth(world))
    assert (refused_filter.status_code, list(refused_filter.json()["errors"])) == (
        422,
        ["query.subject"],
    )
