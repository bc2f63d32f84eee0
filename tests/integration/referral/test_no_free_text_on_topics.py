"""No free text on the topics, on the real stack: the store keeps it and the API answers it.

A format shift, a session and a referral are recorded over HTTP with a unique marker in every
free-text field (rationale; focus issues, homework, check-in triggers; the referral's reason,
notes, organisation and contact). Their relays publish to this test's own `careledger.it-*`
topics; the referral consumer reads the plan's records (v2) and opens its suggestion from one.
Then no record of any `careledger.*` topic on the broker holds the marker, while a caller who
may see the content (compliance) still gets it from both APIs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer

from contracts.schemas import default_registry
from contracts.topics import TopicSpec
from services.common.auth.callers import TokenService
from services.common.consumer.loop import Consumer, Outcome
from services.common.relay.config import RelayConfig
from services.common.relay.publisher import Relay
from services.plan.application import PlanApplication
from services.plan.bootstrap import build_plans, close_plans, create_app
from services.referral import reactions
from services.stack.topics import admin_client, topic_request
from tests.integration.referral.support_world import TENANT, ReferralWorld
from tests.integration.referral.test_referral_on_the_stack import DETOX, call, grant_part2_consent
from tests.integration.support_relay import read_topic
from tests.unit.plan.support_api_client import plan_body, shift_body
from tests.unit.plan.support_builders import ALEX, SAM, THERAPIST

pytestmark = pytest.mark.integration
MARK = f"zq-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def topics(kafka_bootstrap: str) -> Iterator[dict[str, str]]:
    """This test's event and checkpoint topics, named like the shared ones (careledger.*)."""
    suffix = uuid.uuid4().hex[:10]
    names = {s: f"careledger.it-{suffix}.{s}" for s in ("plan", "referral", "access")}
    checkpoints = {
        f"{s}-checkpoints": f"careledger.it-{suffix}.{s}-checkpoints" for s in ("plan", "referral")
    }
    admin = admin_client(kafka_bootstrap)
    requests = {n: topic_request(TopicSpec(n, 3), 1) for n in names.values()}
    requests |= {
        n: topic_request(TopicSpec(n, 1, cleanup_policy="compact"), 1) for n in checkpoints.values()
    }
    admin.create_topics(requests, wait_for_metadata=True)
    try:
        yield {**names, **checkpoints}
    finally:
        admin.delete_topics(list(requests))
        admin.close()


@pytest.fixture
def plans(world: ReferralWorld, database_url: str) -> Iterator[PlanApplication]:
    store = f"plan_it_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {store}")
    cls = type("PlanNoText", (PlanApplication,), {"name": store})
    app = build_plans(world.settings, application_class=cls, create_table=True)
    yield app
    close_plans(app)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {store} CASCADE")


def as_caller(world: ReferralWorld, role: str, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TokenService(world.settings).mint(sub, TENANT, [role])}"}


def relay_all(world: ReferralWorld, app: Any, service: str, topics: dict[str, str]) -> None:
    """Run the service's relay until it has published every committed event."""
    config = RelayConfig(
        service=app.name,
        topic=topics[service],
        transactional_id=f"it-{uuid.uuid4().hex}",
        checkpoint_topic=topics[f"{service}-checkpoints"],
        checkpoint_key=app.name,
        access_topic=topics["access"],
        domain_modules=(f"services.{service}.domain",),
    )
    relay = Relay(config, world.settings)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    last = app.recorder.max_notification_id() or 0
    deadline = time.monotonic() + 90
    while relay.position < last and time.monotonic() < deadline:
        time.sleep(0.1)
    relay.stop.set()
    thread.join(timeout=30)
    assert relay.position >= last, f"the {service} relay did not publish every event in time"


def records_of(world: ReferralWorld, topic: str, count: int) -> list[Any]:
    """The topic's committed records (parsed, checked against their contracts), `count` or more."""
    deadline = time.monotonic() + 60
    while True:
        records = read_topic(world.settings.kafka_bootstrap, topic, default_registry())
        if len(records) >= count or time.monotonic() > deadline:
            assert len(records) >= count, f"{topic}: {len(records)} records, expected {count}"
            return records


def every_careledger_record(bootstrap: str) -> list[Any]:
    """Every committed record (raw) of every careledger.* topic on the broker."""
    admin = admin_client(bootstrap)
    try:
        names = sorted(t for t in admin.list_topics() if t.startswith("careledger."))
    finally:
        admin.close()
    consumer = KafkaConsumer(
        *names,
        bootstrap_servers=bootstrap,
        group_id=None,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5_000,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def test_no_record_on_any_topic_holds_free_text_while_the_api_still_answers_it(
    world: ReferralWorld, plans: PlanApplication, topics: dict[str, str]
) -> None:
    clinician = as_caller(world, "clinician", THERAPIST)
    with TestClient(create_app(world.settings, plans)) as plan_api:
        plan_id = plan_api.post("/plans", json=plan_body(), headers=clinician).json()["plan_id"]
        plan_api.post(f"/plans/{plan_id}/status", json={"status": "active"}, headers=clinician)
        session = {
            "format": "joint",
            "modality": "in-person",
            "held_on": "2026-01-12",
            "focus_issues": [f"{MARK} focus"],
            "homework": [f"{MARK} homework"],
            "check_ins": [
                {"partner_id": ALEX, "mood": 5, "triggers": [f"{MARK} trigger"]},
                {"partner_id": SAM, "mood": 6, "triggers": []},
            ],
        }
        shift = shift_body(reason="withdrawal-risk", rationale=f"{MARK} rationale")
        for path, body in (("sessions", session), ("format-shifts", shift)):
            answer = plan_api.post(f"/plans/{plan_id}/{path}", json=body, headers=clinician)
            assert answer.status_code == 201, answer.text
        shown = plan_api.get(f"/plans/{plan_id}", headers=as_caller(world, "compliance", "cmp-1"))
    relay_all(world, plans, "plan", topics)

    consumer = Consumer("referral", world.referrals, reactions, world.settings)
    plan_records = records_of(world, topics["plan"], 4)
    raw = KafkaConsumer(
        topics["plan"],
        bootstrap_servers=world.settings.kafka_bootstrap,
        group_id=None,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        consumer_timeout_ms=5_000,
    )
    outcomes = [consumer.handle(record) for record in raw]
    raw.close()
    assert Outcome.PROCESSED in outcomes
    shifted = next(r for r in plan_records if r.event_name == "FormatShifted")
    assert shifted.ce_type == "careledger.plan.FormatShifted.v2"
    assert {"R", "BH", "ETH"} <= set(shifted.labels) and shifted.body["reason"] == "withdrawal-risk"

    referral = call(
        world,
        "/referrals",
        {
            "plan_id": plan_id,
            "client_id": "client-9",
            "referral_type": "detox",
            "priority": "urgent",
            "reason": f"{MARK} reason",
            "note": f"{MARK} drafted",
            "organization": {**DETOX, "name": f"{MARK} Detox", "phone": "555-0101"},
            "contact": {"name": f"{MARK} Lee", "role": "intake", "phone": "555-0102"},
        },
        status=201,
    )
    grant_part2_consent(world, "client-9")
    call(world, f"/referrals/{referral['id']}/send", {"note": f"{MARK} sent"})
    call(
        world,
        f"/referrals/{referral['id']}/decline",
        {"reason": f"{MARK} no beds", "note": f"{MARK} declined"},
        role="integration",
    )
    relay_all(world, world.referrals, "referral", topics)
    referral_records = records_of(world, topics["referral"], 4)  # suggestion, draft, sent, decline
    assert {r.event_name for r in referral_records} >= {
        "ReferralDrafted",
        "ReferralSent",
        "ReferralDeclined",
    }

    published = every_careledger_record(world.settings.kafka_bootstrap)
    mine = [r for r in published if r.topic in (topics["plan"], topics["referral"])]
    assert len(mine) >= len(plan_records) + len(referral_records)
    marked = [
        f"{r.topic}@{r.offset}"
        for r in published
        if MARK.encode() in r.value or any(MARK.encode() in v for _, v in r.headers)
    ]
    assert not marked, f"records carrying free text: {marked}"
    assert all(dict(r.headers)["ce_sensitivity"] for r in mine), "every record is labelled"

    assert shown.status_code == 200, shown.text
    assert str(shown.json()).count(MARK) >= 4, "the plan API still shows the rationale and notes"
    reader = as_caller(world, "compliance", "cmp-1")
    answer = world.client.get(f"/referrals/{referral['id']}", headers=reader)
    assert answer.status_code == 200 and MARK in answer.json()["reason"]
    assert MARK in str(answer.json()["organization"]) and MARK in answer.json()["decline_reason"]
