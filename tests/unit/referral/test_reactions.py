"""A plan format shift for substance use opens one draft referral suggestion, exactly once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contracts.records import InboundRecord
from services.common.context import CommandContext
from services.referral import reactions
from services.referral.application import ReferralApplication
from services.referral.worklist import WorklistFilter

PLAN = uuid.uuid4()
SYSTEM = CommandContext(actor_id="referral-consumer", actor_role="system", tenant="practice-a")


def shift(
    reason: str,
    *,
    ce_id: str = "plan-shift-1",
    event: str = "FormatShifted",
    partner: str | None = "partner-a",
) -> InboundRecord:
    body: dict[str, Any] = {
        "id": str(PLAN),
        "version": 4,
        "timestamp": "2026-03-02T09:00:00+00:00",
        "shift_id": "s1",
        "reason": reason,
        "rationale": "restricted",
        "about_partner_id": partner,
        "decided_by": "clin-1",
        "security_labels": ["R", "ETH"],
    }
    return InboundRecord(
        topic="careledger.plan",
        partition=0,
        offset=7,
        ce_id=ce_id,
        ce_type=f"careledger.plan.{event}.v1",
        subject=str(PLAN),
        tenant="practice-a",
        body=body,
    )


def deliver(app: ReferralApplication, record: InboundRecord) -> list[Any]:
    aggregates = reactions.react(app, record)
    if aggregates:
        app.save_as(SYSTEM.caused_by(record.ce_id), *aggregates)
    return aggregates


@pytest.mark.parametrize(
    ("reason", "referral_type"),
    [
        ("withdrawal-risk", "detox"),
        ("substance-use", "outpatient-sud"),
        ("active-substance-use", "outpatient-sud"),
    ],
)
def test_a_substance_related_shift_opens_a_draft_suggestion(
    app: ReferralApplication, reason: str, referral_type: str
) -> None:
    [suggestion] = deliver(app, shift(reason))
    view = app.get(tenant="practice-a", referral_id=suggestion.id)
    assert view["referral_type"] == referral_type and view["status"] == "draft"
    assert view["origin"] == "plan-suggestion" and view["plan_id"] == str(PLAN)
    assert view["client_id"] == "partner-a" and view["source_id"] == "plan-shift-1"
    [item] = app.worklist(tenant="practice-a", query=WorklistFilter()).rows
    assert item["reasons"] == ["suggested"]


def test_a_redelivered_shift_creates_no_second_suggestion(app: ReferralApplication) -> None:
    first = deliver(app, shift("withdrawal-risk"))
    assert deliver(app, shift("withdrawal-risk")) == []
    assert [s.id for s in app.summaries.every(app, tenant="practice-a")] == [str(first[0].id)]


def test_the_suggestion_id_is_derived_from_the_record_id() -> None:
    assert reactions.suggestion_id("a") == reactions.suggestion_id("a")
    assert reactions.suggestion_id("a") != reactions.suggestion_id("b")


@pytest.mark.parametrize("reason", ["intimate-partner-violence", "cool-down", "ready-to-resume"])
def test_other_shift_reasons_open_nothing(app: ReferralApplication, reason: str) -> None:
    assert deliver(app, shift(reason)) == []


def test_other_plan_events_open_nothing(app: ReferralApplication) -> None:
    assert deliver(app, shift("withdrawal-risk", event="GoalAdded")) == []


def test_a_suggestion_for_the_whole_unit_waits_for_the_coordinator_to_name_the_client(
    app: ReferralApplication,
) -> None:
    [suggestion] = deliver(app, shift("withdrawal-risk", partner=None))
    assert app.get(tenant="practice-a", referral_id=suggestion.id)["client_id"] is None


def test_the_reactions_listen_to_the_plan_topic() -> None:
    assert list(reactions.topics) == ["careledger.plan"]
