"""The rules of a sent referral: receipt, acceptance or decline, the appointment, the closed loop.

Each rule checks a step against the referral's lifecycle state and returns the fields of the
event to record; it changes nothing itself (the aggregate applies the event). Every event carries
the referral's security labels, so that a consumer can filter each record on its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from contracts.privacy import Publication
from services.common.errors import RuleBroken
from services.referral.domain.commands import (
    Accept,
    CancelAppointment,
    Complete,
    Decline,
    RecordAttendance,
    RecordNoShow,
    Schedule,
    StepCommand,
)
from services.referral.domain.lifecycle import State, next_state
from services.referral.domain.state import ReferralState
from services.referral.domain.vocabulary import OUTCOMES, check_aware, check_coded


def step(referral: ReferralState, command: StepCommand, at: dt.datetime) -> dict[str, Any]:
    """A step that records only its new state, when and an optional note."""
    return {
        "state": next_state(referral.state, command.step),
        "at": at,
        "note": command.note,
        "security_labels": referral.security_labels,
    }


def accepted(referral: ReferralState, command: Accept, at: dt.datetime) -> dict[str, Any]:
    return {**step(referral, command, at), "plan_id": referral.plan_id}


def declined(referral: ReferralState, command: Decline, at: dt.datetime) -> dict[str, Any]:
    fields = step(referral, command, at)
    if not command.reason.strip():
        raise RuleBroken("a decline needs a reason", errors={"reason": "say why"})
    return {**fields, "reason": command.reason}


def scheduled(referral: ReferralState, command: Schedule, at: dt.datetime) -> dict[str, Any]:
    fields = step(referral, command, at)
    check_aware("appointment_at", command.appointment_at)
    return {**fields, "appointment_at": command.appointment_at}


def appointment_missed_or_cancelled(
    referral: ReferralState, command: RecordNoShow | CancelAppointment, at: dt.datetime
) -> dict[str, Any]:
    """A no-show or a cancelled appointment: the event names the appointment it was about."""
    return {**step(referral, command, at), "appointment_at": referral.appointment_at}


def attended(referral: ReferralState, command: RecordAttendance, at: dt.datetime) -> dict[str, Any]:
    """The client attended; when, unless given, is the scheduled time."""
    fields = step(referral, command, at)
    when = command.attended_at or referral.appointment_at
    check_aware("attended_at", when)
    return {**fields, "attended_at": when}


def completed(referral: ReferralState, command: Complete, at: dt.datetime) -> dict[str, Any]:
    """The loop closed: the outcome came back from the receiving organisation."""
    fields = step(referral, command, at)
    check_coded("outcome", command.outcome, OUTCOMES)
    return {**fields, "plan_id": referral.plan_id, "outcome": command.outcome}


# -- the events of a sent referral ----------------------------------------------------------
# How each is published (contracts/envelope.md): restricted behavioural health information; the
# note (and a decline's reason) stay in the store, off the topic.
LABELS = ("R", "BH")
_PUBLISHED = Publication(labels=LABELS, private=("note",), version=2)


class _Stepped(Aggregate.Event):
    """A step's event: the new state, when, an optional note and the referral's labels."""

    PUBLICATION = _PUBLISHED
    state: State
    at: dt.datetime
    note: str | None
    security_labels: list[str]

    def apply(self, aggregate: Any) -> None:
        referral: ReferralState = aggregate
        referral.state = State(self.state)
        referral.note = self.note


class Fulfilment:
    """The step events as explicit classes; `Referral` inherits them, and the library defines
    each again on `Referral` (`Referral.AppointmentScheduled`), which is what is named, stored
    and published."""

    class ReferralReceived(_Stepped):
        pass

    class ReferralAccepted(_Stepped):
        plan_id: UUID

    class ReferralDeclined(_Stepped):
        PUBLICATION = Publication(labels=LABELS, private=("note", "reason"), version=2)
        reason: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.decline_reason = self.reason

    class AppointmentScheduled(_Stepped):
        appointment_at: dt.datetime

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            referral: ReferralState = aggregate
            referral.appointment_at = self.appointment_at

    class AppointmentMissed(_Stepped):
        appointment_at: dt.datetime | None

    class AppointmentCancelled(_Stepped):
        appointment_at: dt.datetime | None

    class AppointmentAttended(_Stepped):
        attended_at: dt.datetime

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.attended_at = self.attended_at

    class CancellationRequested(_Stepped):
        pass

    class FulfillmentCancelled(_Stepped):
        pass

    class ReferralCancelled(_Stepped):
        pass

    class ReferralFailed(_Stepped):
        pass

    class ReferralCompleted(_Stepped):
        plan_id: UUID
        outcome: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.outcome = self.outcome

    class ReferralEnteredInError(_Stepped):
        pass
