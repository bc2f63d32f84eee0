"""The lifecycle steps after sending: receive, accept or decline, schedule, attend, close.

Each route takes one step (If-Match, an optional note) and answers the referral as the caller
may see it, with its new ETag.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

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


def _take(
    app: ReferralApplication,
    caller: Caller,
    referral_id: UUID,
    command: StepCommand,
    if_match: int | None,
    response: Response,
) -> dict[str, Any]:
    view = app.step(
        ctx=caller.ctx, referral_id=referral_id, command=command, expected_version=if_match
    )
    return answer(response, view, app, caller)


@router.post("/referrals/{referral_id}/decline", response_model=ReferralPublic)
def decline_referral(
    referral_id: UUID,
    body: DeclineIn,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, body.command(), if_match, response)


@router.post("/referrals/{referral_id}/schedule", response_model=ReferralPublic)
def schedule_appointment(
    referral_id: UUID,
    body: ScheduleIn,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, body.command(), if_match, response)


@router.post("/referrals/{referral_id}/record-attendance", response_model=ReferralPublic)
def record_attendance(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
    body: AttendanceIn | None = None,
) -> dict[str, Any]:
    command = (body or AttendanceIn()).command()
    return _take(app, caller, referral_id, command, if_match, response)


@router.post(
    "/referrals/{referral_id}/complete",
    response_model=ReferralPublic,
    summary="Close the loop with the outcome",
)
def complete_referral(
    referral_id: UUID,
    body: CompleteIn,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, body.command(), if_match, response)


# -- steps that take only an optional note ---------------------------------------------------


def _note(body: StepIn | None) -> str | None:
    return body.note if body else None


@router.post(
    "/referrals/{referral_id}/receive",
    response_model=ReferralPublic,
    operation_id="receive_referral",
    summary="Step 'receive' (optional note)",
)
def receive(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
    body: StepIn | None = None,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, Receive(note=_note(body)), if_match, response)


@router.post(
    "/referrals/{referral_id}/accept",
    response_model=ReferralPublic,
    operation_id="accept_referral",
    summary="Step 'accept' (optional note)",
)
def accept(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
    body: StepIn | None = None,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, Accept(note=_note(body)), if_match, response)


@router.post(
    "/referrals/{referral_id}/record-no-show",
    response_model=ReferralPublic,
    operation_id="record_no_show_referral",
    summary="Step 'record-no-show' (optional note)",
)
def record_no_show(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
    body: StepIn | None = None,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, RecordNoShow(note=_note(body)), if_match, response)


@router.post(
    "/referrals/{referral_id}/cancel-appointment",
    response_model=ReferralPublic,
    operation_id="cancel_appointment_referral",
    summary="Step 'cancel-appointment' (optional note)",
)
def cancel_appointment(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
    body: StepIn | None = None,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, CancelAppointment(note=_note(body)), if_match, response)


@router.post(
    "/referrals/{referral_id}/request-cancellation",
    response_model=ReferralPublic,
    operation_id="request_cancellation_referral",
    summary="Step 'request-cancellation' (optional note)",
)
def request_cancellation(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Referrer,
    body: StepIn | None = None,
) -> dict[str, Any]:
    return _take(
        app, caller, referral_id, RequestCancellation(note=_note(body)), if_match, response
    )


@router.post(
    "/referrals/{referral_id}/confirm-cancellation",
    response_model=ReferralPublic,
    operation_id="confirm_cancellation_referral",
    summary="Step 'confirm-cancellation' (optional note)",
)
def confirm_cancellation(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
    body: StepIn | None = None,
) -> dict[str, Any]:
    return _take(
        app, caller, referral_id, ConfirmCancellation(note=_note(body)), if_match, response
    )


@router.post(
    "/referrals/{referral_id}/cancel",
    response_model=ReferralPublic,
    operation_id="cancel_referral",
    summary="Step 'cancel' (optional note)",
)
def cancel(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Referrer,
    body: StepIn | None = None,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, Cancel(note=_note(body)), if_match, response)


@router.post(
    "/referrals/{referral_id}/fail",
    response_model=ReferralPublic,
    operation_id="fail_referral",
    summary="Step 'fail' (optional note)",
)
def fail(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Lead,
    body: StepIn | None = None,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, Fail(note=_note(body)), if_match, response)


@router.post(
    "/referrals/{referral_id}/mark-entered-in-error",
    response_model=ReferralPublic,
    operation_id="mark_entered_in_error_referral",
    summary="Step 'mark-entered-in-error' (optional note)",
)
def mark_entered_in_error(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Lead,
    body: StepIn | None = None,
) -> dict[str, Any]:
    return _take(app, caller, referral_id, MarkEnteredInError(note=_note(body)), if_match, response)
