"""The referral's commands: what a caller asks of a referral, as typed values (imperative names).

The HTTP layer (or a reaction) builds one; `Referral` checks it against its rules and records the
event (past-tense name) it leads to. Organisation and contact stay mappings here: their fields
are checked, with the field's path, by the rules (vocabulary.check_party).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

from services.referral.domain.lifecycle import Step

Party = Mapping[str, Any] | None


@dataclass(frozen=True, kw_only=True)
class _Details:
    """What a draft and a revision both give: type, priority, reason and the parties."""

    referral_type: str
    priority: str
    reason: str
    coordinator_id: str | None = None
    organization: Party = None
    contact: Party = None
    categories: Sequence[str] = ()
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class DraftReferral(_Details):
    """A new draft for a plan; a plan suggestion may lack the client."""

    plan_id: UUID
    client_id: str | None
    origin: str = "coordinator"
    source_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReviseReferral(_Details):
    """Replace the details of a draft (a suggestion gets its client and organisation here)."""

    client_id: str


@dataclass(frozen=True, kw_only=True)
class SendReferral:
    """Send the draft: the application asks the consent service before the referral records it."""

    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class StepCommand:
    """One lifecycle step after sending (or cancelling a draft), with an optional note."""

    step: ClassVar[Step]
    note: str | None = None

    def __init_subclass__(cls, *, step: Step, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.step = step


class Receive(StepCommand, step=Step.RECEIVE):
    """The receiving organisation acknowledged receipt."""


class Accept(StepCommand, step=Step.ACCEPT):
    """The receiving organisation accepted the referral."""


@dataclass(frozen=True, kw_only=True)
class Decline(StepCommand, step=Step.DECLINE):
    reason: str


@dataclass(frozen=True, kw_only=True)
class Schedule(StepCommand, step=Step.SCHEDULE):
    appointment_at: dt.datetime


class RecordNoShow(StepCommand, step=Step.RECORD_NO_SHOW):
    """The client did not come to the appointment."""


class CancelAppointment(StepCommand, step=Step.CANCEL_APPOINTMENT):
    """The appointment was cancelled (the referral may be scheduled again)."""


@dataclass(frozen=True, kw_only=True)
class RecordAttendance(StepCommand, step=Step.RECORD_ATTENDANCE):
    """The client attended; `attended_at` defaults to the scheduled time."""

    attended_at: dt.datetime | None = None


class RequestCancellation(StepCommand, step=Step.REQUEST_CANCELLATION):
    """The referrer asks the receiving organisation to cancel the fulfilment."""


class ConfirmCancellation(StepCommand, step=Step.CONFIRM_CANCELLATION):
    """The receiving organisation confirmed the cancellation."""


class Cancel(StepCommand, step=Step.CANCEL):
    """Discard a draft (or a suggestion) that will not be sent."""


class Fail(StepCommand, step=Step.FAIL):
    """The referral could not be fulfilled (client unreachable, no capacity)."""


@dataclass(frozen=True, kw_only=True)
class Complete(StepCommand, step=Step.COMPLETE):
    """Close the loop: the outcome came back from the receiving organisation."""

    outcome: str


class MarkEnteredInError(StepCommand, step=Step.MARK_ENTERED_IN_ERROR):
    """The referral was recorded in error."""


# The command of each step other than revise and send (those have their own commands).
STEP_COMMANDS: dict[Step, type[StepCommand]] = {
    command.step: command
    for command in (
        Receive,
        Accept,
        Decline,
        Schedule,
        RecordNoShow,
        CancelAppointment,
        RecordAttendance,
        RequestCancellation,
        ConfirmCancellation,
        Cancel,
        Fail,
        Complete,
        MarkEnteredInError,
    )
}
