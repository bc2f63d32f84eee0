"""The referral's rules are pure functions over `ReferralState`: they run on plain data.

Each rule returns the fields of the event to record and changes nothing itself; the aggregate
applies the event. So a rule can be checked on a state built by hand.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.common.errors import InvalidTransition, RuleBroken
from services.referral.domain import ServiceLevels, State, drafting, fulfilment
from services.referral.domain.commands import Accept, RecordAttendance, Schedule, SendReferral
from services.referral.domain.state import ReferralState
from tests.unit.referral.support_helpers import ORG, T0


@dataclass
class PlainState:
    """An accepted detox referral as plain data, shaped like `ReferralState`."""

    plan_id: UUID = field(default_factory=uuid4)
    client_id: str | None = "client-1"
    referral_type: str = "detox"
    priority: str = "urgent"
    organization: dict[str, Any] | None = field(default_factory=lambda: dict(ORG))
    categories: list[str] = field(default_factory=lambda: ["referral", "substance-use"])
    security_labels: list[str] = field(default_factory=lambda: ["42CFRPart2", "ETH", "R"])
    state: State = State.ACCEPTED
    appointment_at: dt.datetime | None = None
    note: str | None = None


def _unchanged(state: ReferralState) -> ReferralState:
    return copy.deepcopy(state)


def test_scheduling_returns_the_events_fields_and_changes_nothing() -> None:
    state = PlainState()
    before = _unchanged(state)
    at = T0 + dt.timedelta(days=2)
    fields = fulfilment.scheduled(state, Schedule(appointment_at=at, note="intake"), T0)
    assert fields == {
        "state": State.SCHEDULED,
        "at": T0,
        "note": "intake",
        "security_labels": ["42CFRPart2", "ETH", "R"],
        "appointment_at": at,
    }
    assert state == before


def test_attendance_on_plain_state_defaults_to_the_appointment() -> None:
    at = T0 + dt.timedelta(days=2)
    state = PlainState(state=State.SCHEDULED, appointment_at=at)
    assert fulfilment.attended(state, RecordAttendance(), T0)["attended_at"] == at


def test_a_step_from_the_wrong_state_is_refused_by_the_rule_itself() -> None:
    with pytest.raises(InvalidTransition):
        fulfilment.accepted(PlainState(state=State.DRAFT), Accept(), T0)


def test_sending_needs_an_organisation_even_on_plain_state() -> None:
    state = PlainState(state=State.DRAFT, organization=None)
    with pytest.raises(RuleBroken) as caught:
        drafting.sent(
            state,
            SendReferral(),
            decision_id="dec-1",
            obligations=[],
            levels=ServiceLevels(),
            at=T0,
        )
    assert "organization" in caught.value.extra["errors"]


def test_sending_returns_the_due_dates_of_the_service_levels() -> None:
    state = PlainState(state=State.DRAFT)
    fields = drafting.sent(
        state, SendReferral(), decision_id="dec-1", obligations=[], levels=ServiceLevels(), at=T0
    )
    levels = ServiceLevels()
    assert fields["acknowledge_by"] == levels.acknowledge_by("detox", "urgent", T0)
    assert fields["first_appointment_by"] == levels.first_appointment_by("detox", "urgent", T0)
    assert state.state is State.DRAFT
