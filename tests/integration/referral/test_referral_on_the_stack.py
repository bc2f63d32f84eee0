"""The closed loop through HTTP on the real PostgreSQL, with the real consent decision point."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from contracts.records import InboundRecord
from services.common.access.consent_gate import HttpConsentGate
from services.common.consumer.loop import Consumer, Outcome
from services.common.readmodels.postgres import PostgresSummaries
from services.referral import reactions
from tests.integration.referral.support_world import TENANT, ReferralWorld

pytestmark = pytest.mark.integration
DETOX = {"id": "org-detox", "name": "Harbor Detox"}
PLAN = str(uuid.uuid4())


def call(
    world: ReferralWorld,
    path: str,
    body: Any = None,
    *,
    role: str = "coordinator",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Any:
    response = world.client.post(path, json=body, headers={**world.auth(role), **(headers or {})})
    assert response.status_code == status, response.text
    return response.json()


def get(world: ReferralWorld, path: str, **params: Any) -> Any:
    response = world.client.get(path, params=params, headers=world.auth("coordinator"))
    assert response.status_code == 200, response.text
    return response.json()


def grant_part2_consent(world: ReferralWorld, person_id: str) -> None:
    body = {
        "person_id": person_id,
        "part2": True,
        "disclosers": [TENANT],
        "description": "withdrawal history and referral details",
        "recipients": [{"kind": "organization", **DETOX}],
        "purposes": ["TREAT"],
        "categories": ["referral", "substance-use"],
        "labels": ["42CFRPart2", "ETH", "R"],
        "start": "2026-01-01",
        "end": "2030-01-01",
        "revocation_right_acknowledged": True,
        "signature": {"signed_by": person_id, "signed_on": "2026-01-01"},
    }
    created = world.consent("POST", "/consents", body)
    world.consent("POST", f"/consents/{created['consent_id']}/activation", {})


def test_a_detox_referral_is_blocked_without_part2_consent_then_closes_the_loop(
    world: ReferralWorld,
) -> None:
    referral = call(
        world,
        "/referrals",
        {
            "plan_id": PLAN,
            "client_id": "client-7",
            "referral_type": "detox",
            "priority": "urgent",
            "reason": "withdrawal risk",
            "organization": DETOX,
        },
        status=201,
    )
    rid = referral["id"]

    blocked = call(world, f"/referrals/{rid}/send", status=409)
    assert blocked["outcome"] in ("DENY", "NO_CONSENT")
    assert "Part 2 written consent" in blocked["detail"]
    worklist = get(world, "/referrals/worklist", reason="blocked-by-consent")
    assert [item["id"] for item in worklist["items"]] == [rid]

    grant_part2_consent(world, "client-7")
    sent = call(world, f"/referrals/{rid}/send")
    decision = sent["consent"]["decision_id"]
    assert sent["status"] == "requested" and decision != blocked["decision_id"]
    assert sent["consent"]["obligations"][0]["code"] == "attach-part2-notice"
    assert get(world, "/referrals/worklist", reason="blocked-by-consent")["total"] == 0

    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    for step, body in [
        ("accept", None),
        ("schedule", {"appointment_at": soon}),
        ("record-attendance", None),
        ("complete", {"outcome": "treatment-completed"}),
    ]:
        call(world, f"/referrals/{rid}/{step}", body, role="integration")

    today = dt.datetime.now(dt.UTC).date()
    metrics = get(
        world,
        "/referrals/metrics",
        **{
            "from": (today - dt.timedelta(days=1)).isoformat(),
            "to": (today + dt.timedelta(days=2)).isoformat(),
        },
    )
    assert (metrics["sent"], metrics["completed"], metrics["loop_closure_rate"]) == (1, 1, 1.0)
    history = get(world, f"/referrals/{rid}/history")["items"]
    assert [h["event"] for h in history] == [
        "ReferralDrafted",
        "ReferralSendBlocked",
        "ReferralSent",
        "ReferralAccepted",
        "AppointmentScheduled",
        "AppointmentAttended",
        "ReferralCompleted",
    ]
    assert history[2]["body"]["decision_id"] == decision


def test_an_unreachable_consent_service_sends_nothing(world: ReferralWorld) -> None:
    world.referrals.consent_gate = HttpConsentGate("http://127.0.0.1:9", timeout=2)
    referral = call(
        world,
        "/referrals",
        {
            "plan_id": PLAN,
            "client_id": "client-8",
            "referral_type": "detox",
            "reason": "withdrawal risk",
            "organization": DETOX,
        },
        status=201,
    )
    call(world, f"/referrals/{referral['id']}/send", status=503)
    assert len(get(world, f"/referrals/{referral['id']}/history")["items"]) == 1


def format_shift(offset: int, ce_id: str) -> SimpleNamespace:
    inbound = InboundRecord(
        topic="careledger.plan",
        partition=0,
        offset=offset,
        ce_id=ce_id,
        ce_type="careledger.plan.FormatShifted.v1",
        subject=PLAN,
        tenant=TENANT,
        body={"id": PLAN, "version": 5, "reason": "withdrawal-risk", "about_partner_id": "p-1"},
    )
    return SimpleNamespace(topic=inbound.topic, partition=0, offset=offset, inbound=inbound)


def test_a_redelivered_plan_shift_creates_one_suggestion(world: ReferralWorld) -> None:
    consumer = Consumer(
        "referral", world.referrals, reactions, world.settings, parse=lambda record: record.inbound
    )
    ce_id = f"{PLAN}:5"
    assert consumer.handle(format_shift(40, ce_id)) is Outcome.PROCESSED
    assert consumer.handle(format_shift(40, ce_id)) is Outcome.DUPLICATE  # the same offset again
    assert consumer.handle(format_shift(41, ce_id)) is Outcome.PROCESSED  # re-published copy
    suggestions = get(world, "/referrals/worklist", reason="suggested")["items"]
    assert len(suggestions) == 1
    assert suggestions[0]["id"] == str(reactions.suggestion_id(ce_id))
    assert suggestions[0]["referral_type"] == "detox"


def test_a_fhir_service_request_retried_with_the_same_key_creates_one_referral(
    world: ReferralWorld,
) -> None:
    resource = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "code": {"coding": [{"code": "psychiatry"}]},
        "subject": {"reference": "Patient/c-3"},
        "basedOn": [{"reference": f"CarePlan/{PLAN}"}],
        "reasonCode": [{"text": "review"}],
    }
    key = {"Idempotency-Key": f"ehr-{uuid.uuid4()}"}
    first = call(
        world, "/fhir/ServiceRequest", resource, role="integration", status=201, headers=key
    )
    again = world.client.post(
        "/fhir/ServiceRequest", json=resource, headers={**world.auth("integration"), **key}
    )
    assert again.json()["id"] == first["id"]
    summaries = world.referrals.summaries.every(world.referrals, tenant=TENANT)
    assert [s.id for s in summaries] == [first["id"]]


def test_the_summaries_read_model_rebuilt_from_the_events_comes_out_identical(
    world: ReferralWorld,
) -> None:
    for client in ("c-1", "c-2"):
        rid = call(
            world,
            "/referrals",
            {
                "plan_id": PLAN,
                "client_id": client,
                "referral_type": "psychiatry",
                "reason": "review",
                "organization": DETOX,
            },
            status=201,
        )["id"]
        call(world, f"/referrals/{rid}/cancel")
    read_model = world.referrals.summaries
    assert isinstance(read_model, PostgresSummaries)
    before = sorted(read_model.every(world.referrals, tenant=TENANT), key=lambda s: s.id)
    assert read_model.rebuild(world.referrals) > 0
    after = sorted(read_model.every(world.referrals, tenant=TENANT), key=lambda s: s.id)
    assert after == before and len(after) == 2
