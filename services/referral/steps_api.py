"""The lifecycle steps after sending: receive, accept or decline, schedule, attend, close.

Each route takes one step (If-Match, an optional note) and answers the referral as the caller
may see it, with its new ETag. What every step route takes (the referral, the application,
If-Match, the response) comes as one `Step`; the routes differ in their path, their body, their
command and who may take the step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from services.common.auth.callers import Caller
from services.referral.application import ReferralApplication
from services.referral.deps import IfMatch, Lead, ReceivingSide, Referrals, Referrer, answer
from services.referral.domain.commands import (
    Accept,
    Cancel,
    CancelAppointment,
    ConfirmCancellation,
    Fail,
    MarkEnteredInError,
    Receive,
    RecordNoShow,
    RequestCancellation,
    StepCommand,
)
from services.referral.schemas import (
    AttendanceIn,
    CompleteIn,
    DeclineIn,
    ReferralPublic,
    ScheduleIn,
    StepIn,
)

router = APIRouter(tags=["referrals"])
Route = TypeVar("Route", bound=Callable[..., Any])


@dataclass(frozen=True)
class Step:
    """One step on one referral: take it as `caller` and answer as they may see it."""

    referral_id: UUID
    response: Response
    app: ReferralApplication
    if_match: int | None

    def take(self, command: StepCommand, caller: Caller) -> dict[str, Any]:
        view = self.app.step(
            ctx=caller.ctx,
            referral_id=self.referral_id,
            command=command,
            expected_version=self.if_match,
        )
        return answer(self.response, view, self.app, caller)


def _step(referral_id: UUID, response: Response, app: Referrals, if_match: IfMatch) -> Step:
    return Step(referral_id, response, app, if_match)


StepOn = Annotated[Step, Depends(_step)]


@router.post("/referrals/{referral_id}/decline", response_model=ReferralPublic)
def decline_referral(step: StepOn, body: DeclineIn, caller: ReceivingSide) -> dict[str, Any]:
    return step.take(body.command(), caller)


@router.post("/referrals/{referral_id}/schedule", response_model=ReferralPublic)
def schedule_appointment(step: StepOn, body: ScheduleIn, caller: ReceivingSide) -> dict[str, Any]:
    return step.take(body.command(), caller)


@router.post("/referrals/{referral_id}/record-attendance", response_model=ReferralPublic)
def record_attendance(
    step: StepOn, caller: ReceivingSide, body: AttendanceIn | None = None
) -> dict[str, Any]:
    return step.take((body or AttendanceIn()).command(), caller)


@router.post(
    "/referrals/{referral_id}/complete",
    response_model=ReferralPublic,
    summary="Close the loop with the outcome",
)
def complete_referral(step: StepOn, body: CompleteIn, caller: ReceivingSide) -> dict[str, Any]:
    return step.take(body.command(), caller)


# -- steps that take only an optional note ---------------------------------------------------


def _note(body: StepIn | None) -> str | None:
    return body.note if body else None


def note_step(path: str) -> Callable[[Route], Route]:
    """POST `path`, a step that takes only an optional note, named after its last segment."""
    name = path.rsplit("/", 1)[-1]
    return router.post(
        path,
        response_model=ReferralPublic,
        operation_id=f"{name.replace('-', '_')}_referral",
        summary=f"Step '{name}' (optional note)",
    )


@note_step("/referrals/{referral_id}/receive")
def receive(step: StepOn, caller: ReceivingSide, body: StepIn | None = None) -> dict[str, Any]:
    return step.take(Receive(note=_note(body)), caller)


@note_step("/referrals/{referral_id}/accept")
def accept(step: StepOn, caller: ReceivingSide, body: StepIn | None = None) -> dict[str, Any]:
    return step.take(Accept(note=_note(body)), caller)


@note_step("/referrals/{referral_id}/record-no-show")
def record_no_show(
    step: StepOn, caller: ReceivingSide, body: StepIn | None = None
) -> dict[str, Any]:
    return step.take(RecordNoShow(note=_note(body)), caller)


@note_step("/referrals/{referral_id}/cancel-appointment")
def cancel_appointment(
    step: StepOn, caller: ReceivingSide, body: StepIn | None = None
) -> dict[str, Any]:
    return step.take(CancelAppointment(note=_note(body)), caller)


@note_step("/referrals/{referral_id}/request-cancellation")
def request_cancellation(
    step: StepOn, caller: Referrer, body: StepIn | None = None
) -> dict[str, Any]:
    return step.take(RequestCancellation(note=_note(body)), caller)


@note_step("/referrals/{referral_id}/confirm-cancellation")
def confirm_cancellation(
    step: StepOn, caller: ReceivingSide, body: StepIn | None = None
) -> dict[str, Any]:
    return step.take(ConfirmCancellation(note=_note(body)), caller)


@note_step("/referrals/{referral_id}/cancel")
def cancel(step: StepOn, caller: Referrer, body: StepIn | None = None) -> dict[str, Any]:
    return step.take(Cancel(note=_note(body)), caller)


@note_step("/referrals/{referral_id}/fail")
def fail(step: StepOn, caller: Lead, body: StepIn | None = None) -> dict[str, Any]:
    return step.take(Fail(note=_note(body)), caller)


@note_step("/referrals/{referral_id}/mark-entered-in-error")
def mark_entered_in_error(step: StepOn, caller: Lead, body: StepIn | None = None) -> dict[str, Any]:
    return step.take(MarkEnteredInError(note=_note(body)), caller)
