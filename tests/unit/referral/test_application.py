"""The referral application: commands through the in-memory store, consent gate faked."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, InvalidTransition, NotFound, StaleVersion, Unavailable
from services.referral.application import ReferralApplication
from services.referral.domain.commands import (
    Accept,
    Cancel,
    Complete,
    DraftReferral,
    RecordAttendance,
    Schedule,
    SendReferral,
)
from services.referral.worklist import WorklistFilter
from tests.unit.referral.support_helpers import CTX, ORG, T0, FakeConsentGate

PLAN = uuid.uuid4()


def draft(app: ReferralApplication, referral_type: str = "detox", **overrides: Any) -> UUID:
    details: dict[str, Any] = {
        "plan_id": PLAN,
        "client_id": "client-1",
        "referral_type": referral_type,
        "priority": "urgent",
        "reason": "withdrawal risk",
        "coordinator_id": "coord-1",
        "organization": ORG,
    }
    details.update(overrides)
    view, created = app.draft(ctx=CTX, command=DraftReferral(**details))
    assert created
    return UUID(view["id"])


def send(app: ReferralApplication, rid: UUID) -> dict[str, Any]:
    return app.send(ctx=CTX, referral_id=rid, command=SendReferral(), token="caller-token")


def test_a_permitted_referral_is_sent_with_the_decision_id_and_obligations(
    app: ReferralApplication, gate: FakeConsentGate
) -> None:
    view = send(app, draft(app))
    assert view["status"] == "requested" and view["business_status"] == "Created"
    assert view["consent"]["decision_id"] == "dec-1"
    assert view["consent"]["obligations"][0]["code"] == "part2-redisclosure-notice"
    request, token = gate.requests[0]
    assert token == "caller-token"
    assert request.person_id == "client-1" and request.purpose == "TREAT"
    assert request.recipient == {"kind": "organization", "id": ORG["id"], "name": ORG["name"]}
    assert request.categories == ["referral", "substance-use"] and "42CFRPart2" in request.labels


def test_a_sent_detox_referral_is_due_for_acknowledgement_the_same_day(
    app: ReferralApplication,
) -> None:
    app.service_levels = type(app.service_levels)(timezone="UTC")
    view = send(app, draft(app))
    assert view["due"]["acknowledge_by"] == "2026-03-03T00:00:00+00:00"
    assert view["due"]["first_appointment_by"] == "2026-03-10T00:00:00+00:00"


@pytest.mark.parametrize("outcome", ["DENY", "NO_CONSENT"])
def test_a_referral_without_consent_is_not_sent_and_says_which_consent_is_missing(
    app: ReferralApplication, gate: FakeConsentGate, outcome: str
) -> None:
    gate.outcome = outcome
    rid = draft(app)
    with pytest.raises(Conflict) as caught:
        send(app, rid)
    assert "Part 2 written consent" in caught.value.detail
    assert caught.value.extra["outcome"] == outcome
    view = app.get(tenant=CTX.tenant, referral_id=rid)
    assert view["status"] == "draft"
    assert view["consent"]["outcome"] == outcome
    history = app.history(tenant=CTX.tenant, referral_id=rid)
    assert [h["event"] for h in history][-1] == "ReferralSendBlocked"


def test_a_blocked_referral_is_sent_once_consent_is_granted(
    app: ReferralApplication, gate: FakeConsentGate
) -> None:
    gate.outcome = "DENY"
    rid = draft(app)
    with pytest.raises(Conflict):
        send(app, rid)
    gate.outcome = "PERMIT"
    consent = send(app, rid)["consent"]
    assert consent["decision_id"] == "dec-2" and consent["outcome"] == "PERMIT"
    assert (
        app.worklist(tenant=CTX.tenant, query=WorklistFilter(reason="blocked-by-consent")).rows
        == []
    )


def test_nothing_is_stored_when_the_consent_service_is_unreachable(
    app: ReferralApplication, gate: FakeConsentGate
) -> None:
    rid = draft(app)
    gate.down = True
    with pytest.raises(Unavailable):
        send(app, rid)
    assert app.get(tenant=CTX.tenant, referral_id=rid)["version"] == 1


def test_consent_is_not_asked_for_a_referral_that_could_not_be_sent_anyway(
    app: ReferralApplication, gate: FakeConsentGate
) -> None:
    rid = draft(app)
    send(app, rid)
    with pytest.raises(InvalidTransition):
        send(app, rid)
    assert len(gate.requests) == 1


def test_a_stale_if_match_is_a_precondition_failure(app: ReferralApplication) -> None:
    rid = draft(app)
    with pytest.raises(StaleVersion):
        app.send(ctx=CTX, referral_id=rid, command=SendReferral(), expected_version=7, token=None)


def test_another_practice_cannot_see_or_change_the_referral(app: ReferralApplication) -> None:
    rid = draft(app)
    other = CommandContext(actor_id="x", actor_role="coordinator", tenant="practice-b")
    with pytest.raises(NotFound):
        app.get(tenant=other.tenant, referral_id=rid)
    with pytest.raises(NotFound):
        app.step(ctx=other, referral_id=rid, command=Cancel())


def test_a_create_retried_with_the_same_id_returns_the_first_referral(
    app: ReferralApplication,
) -> None:
    rid = uuid.uuid4()
    details: dict[str, Any] = {
        "plan_id": PLAN,
        "client_id": "c",
        "referral_type": "psychiatry",
        "priority": "routine",
        "reason": "r",
        "coordinator_id": None,
    }
    first, created = app.draft(ctx=CTX, referral_id=rid, command=DraftReferral(**details))
    again, created_again = app.draft(ctx=CTX, referral_id=rid, command=DraftReferral(**details))
    assert created and not created_again and first == again


def test_the_closed_loop_runs_from_draft_to_completed_with_who_when_and_why(
    app: ReferralApplication,
) -> None:
    rid = draft(app)
    send(app, rid)
    app.step(ctx=CTX, referral_id=rid, command=Accept(note="bed available"), expected_version=2)
    app.step(ctx=CTX, referral_id=rid, command=Schedule(appointment_at=T0), expected_version=3)
    app.step(ctx=CTX, referral_id=rid, command=RecordAttendance(), expected_version=4)
    done = Complete(outcome="treatment-completed")
    view = app.step(ctx=CTX, referral_id=rid, command=done, expected_version=5)
    assert view["status"] == "completed" and view["outcome"] == "treatment-completed"
    history = app.history(tenant=CTX.tenant, referral_id=rid)
    assert [h["event"] for h in history] == [
        "ReferralDrafted",
        "ReferralSent",
        "ReferralAccepted",
        "AppointmentScheduled",
        "AppointmentAttended",
        "ReferralCompleted",
    ]
    accepted = history[2]
    assert accepted["actor"] == {"id": "coord-1", "role": "coordinator"}
    assert accepted["note"] == "bed available"
    assert accepted["correlation_id"] == CTX.correlation_id and accepted["at"] is not None
