"""The plan service through HTTP on the real PostgreSQL, its events relayed to real Kafka.

Each test gets a private PostgreSQL schema, event topic, checkpoint topic and transactional id
(the relay tests' `make_world`), so nothing here touches the shared `careledger.*` topics. The
API runs in process (FastAPI TestClient) on a PlanApplication stored in that schema; the relay
runs in a thread and publishes exactly what the store committed.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contracts.records import InboundRecord
from contracts.schemas import default_registry
from services.common.auth.callers import TokenService
from services.common.consumer.loop import Consumer, Outcome
from services.common.relay.config import RelayConfig
from services.common.relay.publisher import Relay
from services.plan import reactions
from services.plan.application import PlanApplication
from services.plan.projections import PostgresSummaries
from tests.integration.plan.support_agreements import agreement_in_force
from tests.integration.support_relay import RelayWorld, read_topic
from tests.unit.plan.support_api_client import goal_body, plan_body, shift_body
from tests.unit.plan.support_builders import ALEX, SAM, TENANT, THERAPIST

pytestmark = pytest.mark.integration


def auth(world: RelayWorld, role: str = "clinician", **extra: str) -> dict[str, str]:
    sub = THERAPIST if role == "clinician" else f"{role}-1"  # the plans' couples therapist
    token = TokenService(world.settings).mint(sub, TENANT, [role])
    return {"Authorization": f"Bearer {token}", **extra}


def post(client: TestClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post(url, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def active_plan(client: TestClient, world: RelayWorld) -> str:
    plan_id = str(post(client, "/plans", plan_body(), auth(world))["plan_id"])
    post(client, f"/plans/{plan_id}/status", {"status": "active"}, auth(world))
    return plan_id


def relay_everything(world: RelayWorld, plans: PlanApplication) -> None:
    """Run the relay until it has published every committed event, then stop it."""
    config = RelayConfig(
        service=world.store,
        topic=world.topic,
        transactional_id=world.transactional_id,
        checkpoint_topic=world.checkpoint_topic,
        checkpoint_key=world.store,
        access_topic=world.access_topic,
        domain_modules=("services.plan.domain",),
    )
    relay = Relay(config, world.settings)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    last = plans.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while relay.position < last and time.monotonic() < deadline:
        time.sleep(0.1)
    relay.stop.set()
    thread.join(timeout=30)
    assert relay.position >= last, "the relay did not publish every event in time"


def read_until(world: RelayWorld, *, count: int, timeout_s: float = 60) -> list[Any]:
    """The topic's committed records, read again until `count` arrived (a slow broker)."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = read_topic(world.settings.kafka_bootstrap, world.topic, default_registry())
        if len(records) >= count or time.monotonic() > deadline:
            return records


def test_a_coercive_control_shift_pauses_joint_work_and_reaches_kafka_labelled(
    world: RelayWorld, plans: PlanApplication, client: TestClient
) -> None:
    plan_id = active_plan(client, world)
    goal_id = post(client, f"/plans/{plan_id}/goals", goal_body(), auth(world))["goal_id"]
    shift = post(client, f"/plans/{plan_id}/format-shifts", shift_body(), auth(world))

    plan = client.get(f"/plans/{plan_id}", headers=auth(world)).json()
    assert plan["joint_paused"] is True
    goal = next(g for g in plan["goals"] if g["goal_id"] == goal_id)
    assert (goal["lifecycle_status"], goal["held_by_pause"]) == ("on-hold", True)
    joint = {
        "format": "joint",
        "modality": "in-person",
        "held_on": "2026-02-02",
        "focus_issues": ["repair"],
    }
    assert (
        client.post(f"/plans/{plan_id}/sessions", json=joint, headers=auth(world)).status_code
        == 409
    )

    relay_everything(world, plans)
    records = read_until(world, count=4)
    assert [r.subject for r in records] == [plan_id] * 4
    shifted = [r for r in records if r.ce_type == "careledger.plan.FormatShifted.v2"]
    assert len(shifted) == 1
    record = shifted[0]
    assert record.body["shift_id"] == shift["shift_id"]
    assert record.body["held_goals"] == [goal_id]
    assert set(record.labels) >= {"R", "SDV"}
    assert record.tenant == TENANT
    assert record.headers["ce_actor"] == THERAPIST


def test_concurrent_edits_of_one_plan_have_one_winner_and_the_rest_conflict(
    world: RelayWorld, client: TestClient
) -> None:
    plan_id = active_plan(client, world)
    headers = auth(world, **{"If-Match": '"2"'})

    def add_goal(n: int) -> int:
        body = goal_body(description=f"goal {n}")
        return client.post(f"/plans/{plan_id}/goals", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(add_goal, range(8)))
    assert statuses.count(201) == 1, statuses
    assert set(statuses) - {201} <= {409, 412}
    plan = client.get(f"/plans/{plan_id}", headers=auth(world))
    assert (len(plan.json()["goals"]), plan.headers["ETag"]) == (1, 'W/"3"')


def test_racing_edits_without_if_match_never_lose_an_update(
    world: RelayWorld, client: TestClient
) -> None:
    plan_id = active_plan(client, world)

    def add_goal(n: int) -> int:
        body = goal_body(description=f"goal {n}")
        return client.post(f"/plans/{plan_id}/goals", json=body, headers=auth(world)).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(add_goal, range(6)))
    assert set(statuses) <= {201, 409}, statuses
    goals = client.get(f"/plans/{plan_id}", headers=auth(world)).json()["goals"]
    assert len(goals) == statuses.count(201)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("format-shifts", shift_body(reason="not-a-reason"), "reason"),
        (
            "measurements",
            {
                "partner_id": ALEX,
                "measure": "phq-9",
                "value": 30,
                "items": [3] * 9,
                "taken_on": "2026-01-12",
            },
            "value",
        ),
        ("goals", {k: v for k, v in goal_body().items() if k != "target"}, "target"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    world: RelayWorld, client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    plan_id = active_plan(client, world)
    answer = client.post(f"/plans/{plan_id}/{path}", json=body, headers=auth(world))
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["errors"]
    assert client.get(f"/plans/{plan_id}", headers=auth(world)).headers["ETag"] == 'W/"2"'


def test_version_reproduces_an_old_state(world: RelayWorld, client: TestClient) -> None:
    plan_id = active_plan(client, world)
    goal_id = post(client, f"/plans/{plan_id}/goals", goal_body(), auth(world))["goal_id"]
    revised = client.patch(
        f"/plans/{plan_id}/goals/{goal_id}", json={"target": 3}, headers=auth(world)
    )
    assert revised.status_code == 200, revised.text
    old = client.get(f"/plans/{plan_id}", params={"version": 3}, headers=auth(world)).json()
    now = client.get(f"/plans/{plan_id}", headers=auth(world)).json()
    assert (old["goals"][0]["target"], now["goals"][0]["target"]) == (1.0, 3.0)
    history = client.get(f"/plans/{plan_id}/history", headers=auth(world)).json()
    assert [h["event"] for h in history["items"]] == [
        "PlanCreated",
        "PlanStatusChanged",
        "GoalAdded",
        "GoalRevised",
    ]
    hidden = client.get(f"/plans/{plan_id}/history", headers=auth(world, **{"X-Acting-For": SAM}))
    assert hidden.status_code == 200


def test_the_worklists_read_the_postgres_projection_and_it_rebuilds_identically(
    world: RelayWorld, plans: PlanApplication, client: TestClient, consent_url: str
) -> None:
    plan_id = active_plan(client, world)
    agreement_id = agreement_in_force(world, consent_url)
    session = {
        "format": "individual",
        "partner_id": ALEX,
        "modality": "telehealth",
        "held_on": "2026-01-12",
        "focus_issues": ["safety"],
        "sharing_agreement_id": agreement_id,
    }
    post(client, f"/plans/{plan_id}/sessions", session, auth(world))
    flagged = client.get(
        "/worklists/uneven-growth", params={"on": "2026-03-02"}, headers=auth(world, "coordinator")
    ).json()
    assert [(r["plan_id"], r["partner_id"]) for r in flagged["items"]] == [(plan_id, ALEX)]
    due = client.get(
        "/worklists/reviews-due", params={"on": "2026-02-10"}, headers=auth(world, "coordinator")
    ).json()
    assert [r["plan_id"] for r in due["items"]] == [plan_id]

    read_model = plans.read_model
    assert isinstance(read_model, PostgresSummaries)
    before = read_model.projection.of_tenant(TENANT)
    read_model.runner.rebuild()
    assert read_model.projection.of_tenant(TENANT) == before


def test_a_referral_record_is_noted_on_its_plan_exactly_once_on_postgres(
    world: RelayWorld, plans: PlanApplication, client: TestClient
) -> None:
    plan_id = active_plan(client, world)
    referral_id = str(uuid.uuid4())
    inbound = InboundRecord(
        topic="careledger.referral",
        partition=0,
        offset=7,
        ce_id=f"{referral_id}:3",
        ce_type="careledger.referral.ReferralCompleted.v1",
        subject=referral_id,
        tenant=TENANT,
        body={"id": referral_id, "plan_id": plan_id, "outcome": "engaged-in-care"},
    )
    consumer = Consumer("plan", plans, reactions, world.settings, parse=lambda _record: inbound)
    kafka_record = SimpleNamespace(topic="careledger.referral", partition=0, offset=7)
    assert consumer.handle(kafka_record) is Outcome.PROCESSED
    assert consumer.handle(kafka_record) is Outcome.DUPLICATE  # the same offset again
    redelivered = SimpleNamespace(topic="careledger.referral", partition=0, offset=8)
    assert consumer.handle(redelivered) is Outcome.PROCESSED  # same ce_id: nothing new noted

    history = client.get(f"/plans/{plan_id}/history", headers=auth(world)).json()["items"]
    noted = [h for h in history if h["event"] == "ReferralNoted"]
    assert len(noted) == 1
    assert noted[0]["meta"]["causation_id"] == inbound.ce_id
    assert noted[0]["meta"]["actor_role"] == "system"
    plan = client.get(f"/plans/{plan_id}", headers=auth(world)).json()
    assert plan["referrals"] == [
        {"referral_id": referral_id, "stage": "completed", "outcome": "engaged-in-care"}
    ]
