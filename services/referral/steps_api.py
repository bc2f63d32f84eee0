"""The lifecycle steps after sending: receive, accept or decline, schedule, attend, close.

Each route takes one step (If-Match, an optional note) and answers the referral as the caller
may see it, with its new ETag.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from services.common.auth import Caller
from services.referral.application import ReferralApplication
from services.referral.deps import IfMatch, Lead, ReceivingSide, Referrals, Referrer, answer
from services.referral.domain import Step
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
    step: Step,
    if_match: int | None,
    response: Response,
    **arguments: Any,
) -> dict[str, Any]:
    view = app.step(caller.ctx, referral_id, step, expected_version=if_match, **arguments)
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
    return _take(
        app,
        caller,
        referral_id,
        Step.DECLINE,
        if_match,
        response,
        reason=body.reason,
        note=body.note,
    )


@router.post("/referrals/{referral_id}/schedule", response_model=ReferralPublic)
def schedule_appointment(
    referral_id: UUID,
    body: ScheduleIn,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
) -> dict[str, Any]:
    at = body.appointment_at
    return _take(
        app,
        caller,
        referral_id,
        Step.SCHEDULE,
        if_match,
        response,
        appointment_at=at,
        note=body.note,
    )


@router.post("/referrals/{referral_id}/record-attendance", response_model=ReferralPublic)
def record_attendance(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: ReceivingSide,
    body: AttendanceIn | None = None,
) -> dict[str, Any]:
    body = body or AttendanceIn()
    step, at = Step.RECORD_ATTENDANCE, body.attended_at
    return _take(app, caller, referral_id, step, if_match, response, attended_at=at, note=body.note)


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
    outcome = body.outcome
    return _take(
        app, caller, referral_id, Step.COMPLETE, if_match, response, outcome=outcome, note=body.note
    )


# -- steps that take only an optional note ---------------------------------------------------


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
    note = body.note if body else None
    return _take(app, caller, referral_id, Step.RECEIVE, if_match, response, note=note)


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
    note = body.note if body else None
    return _take(app, caller, referral_id, Step.ACCEPT, if_match, response, note=note)


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
    note = body.note if body else None
    return _take(app, caller, referral_id, Step.RECORD_NO_SHOW, if_match, response, note=note)


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
    note = body.note if body else None
    return _take(app, caller, referral_id, Step.CANCEL_APPOINTMENT, if_match, response, note=note)


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
    note = body.note if body else None
    return _take(app, caller, referral_id, Step.REQUEST_CANCELLATION, if_match, response, note=note)


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
    note = body.note if body else None
    return _take(app, caller, referral_id, Step.CONFIRM_CANCELLATION, if_match, response, note=note)


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
    note = body.note if body else None
    return _take(app, caller, referral_id, Step.CANCEL, if_match, response, note=note)


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
    note = body.note if body else None
    return _take(app, caller, referral_id, Step.FAIL, if_match, response, note=note)


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
    note = body.note if body else None
    return _take(
        app, caller, referral_id, Step.MARK_ENTERED_IN_ERROR, if_match, response, note=note
    )
