"""The referral HTTP API: parse, authorize, If-Match, then one application call. Nothing else."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from services.common.access_http import record_read
from services.common.access_log import Touched
from services.common.auth import Caller, Role, allow
from services.common.errors import RuleBroken
from services.common.http import IfMatch, PageParams, bearer_token, set_etag
from services.common.validation import moment_in_range
from services.referral.application import ReferralApplication
from services.referral.domain import Step
from services.referral.reads import read_one, readable_rows, shown, shown_to
from services.referral.schemas import (
    AttendanceIn,
    CompleteIn,
    DeclineIn,
    ReferralCreate,
    ReferralDetails,
    ReferralPublic,
    ReferralType,
    ScheduleIn,
    StepIn,
)
from services.referral.views import referral_view
from services.referral.worklist import WorklistFilter

router = APIRouter(tags=["referrals"])

REFERRERS = (Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN)
RECEIVING_SIDE = (Role.COORDINATOR, Role.INTEGRATION, Role.ADMIN)
READERS = (Role.COORDINATOR, Role.CLINICIAN, Role.COMPLIANCE, Role.INTEGRATION, Role.ADMIN)
COORDINATION = (Role.COORDINATOR, Role.COMPLIANCE, Role.ADMIN)
KEY_NAMESPACE = uuid.UUID("0f6f1f0e-7c55-4f43-a0a4-2f8f3d3f6c11")
WorklistReason = Literal[
    "blocked-by-consent",
    "suggested",
    "overdue-acknowledgement",
    "overdue-first-appointment",
    "no-show",
    "awaiting-outcome",
]


async def referrals(request: Request) -> ReferralApplication:
    app: ReferralApplication = request.app.state.referrals
    return app


Referrals = Annotated[ReferralApplication, Depends(referrals)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def keyed_id(caller: Caller, key: str | None) -> UUID | None:
    """The id a create with this Idempotency-Key gets, so a retry finds the first one."""
    if not key:
        return None
    return uuid.uuid5(KEY_NAMESPACE, json.dumps([caller.tenant, caller.sub, key]))


def _answer(
    response: Response, view: dict[str, Any], app: ReferralApplication, caller: Caller
) -> dict[str, Any]:
    """A referral view as the caller may see it (domain/read_policy.py), with its ETag."""
    set_etag(response, view["version"])
    return shown_to(app, caller.reader, view)


# -- queries (declared before /referrals/{referral_id}) ------------------------------------


@router.get("/referrals/worklist", summary="Referrals that need a coordinator, and why")
def get_worklist(
    request: Request,
    app: Referrals,
    page: PageParams,
    caller: Annotated[Caller, Depends(allow(Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN))],
    organization: Annotated[str | None, Query(description="receiving organisation id")] = None,
    referral_type: Annotated[ReferralType | None, Query(alias="type")] = None,
    coordinator: Annotated[str | None, Query(description="coordinator id")] = None,
    reason: Annotated[WorklistReason | None, Query(description="only this reason")] = None,
) -> dict[str, Any]:
    where = WorklistFilter(organization, referral_type, coordinator, reason)
    return page.slice(readable_rows(request, app, app.worklist(caller.tenant, where)))


@router.get("/referrals/metrics", summary="Closed-loop metrics of the referrals sent in a period")
def get_metrics(
    request: Request,
    app: Referrals,
    caller: Annotated[Caller, Depends(allow(*COORDINATION))],
    start: Annotated[str | None, Query(alias="from", description="ISO date or time")] = None,
    end: Annotated[
        str | None, Query(alias="to", description="ISO date or time (exclusive)")
    ] = None,
) -> dict[str, Any]:
    until = _moment("to", end) if end else app.clock()
    since = _moment("from", start) if start else until - dt.timedelta(days=30)
    if since >= until:
        raise RuleBroken("the period is empty", errors={"from": "must be before `to`"})
    metrics = app.metrics(caller.tenant, since, until)
    record_read(request, Touched("ReferralMetrics", view="full"))  # counts only, no client
    return metrics


def _moment(field: str, text: str) -> dt.datetime:
    """An ISO date (midnight UTC) or an ISO time with an offset."""
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0), tzinfo=dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RuleBroken(
            f"`{field}` is not a date or a time with an offset",
            errors={field: "use 2026-03-01 or 2026-03-01T00:00:00Z"},
        )
    return moment_in_range(field, moment)


# -- one referral ------------------------------------------------------------------------


@router.post(
    "/referrals",
    status_code=201,
    response_model=ReferralPublic,
    summary="Record a draft referral (Idempotency-Key honoured)",
)
def create_referral(
    body: ReferralCreate,
    response: Response,
    app: Referrals,
    caller: Annotated[Caller, Depends(allow(*REFERRERS))],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    details = body.domain_details()
    if details["coordinator_id"] is None and caller.has(Role.COORDINATOR):
        details["coordinator_id"] = caller.sub
    view, created = app.draft(
        caller.ctx, referral_id=keyed_id(caller, idempotency_key), origin="coordinator", **details
    )
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/referrals/{view['id']}"
    return _answer(response, view, app, caller)


@router.get("/referrals/{referral_id}", response_model=ReferralPublic)
def get_referral(
    request: Request,
    referral_id: UUID,
    response: Response,
    app: Referrals,
    caller: Annotated[Caller, Depends(allow(*READERS))],
) -> dict[str, Any]:
    referral, kind = read_one(request, app, referral_id)
    set_etag(response, referral.version)
    return shown(referral_view(referral), kind)


@router.get("/referrals/{referral_id}/history", summary="Who, when and why of every step")
def get_history(
    request: Request,
    referral_id: UUID,
    app: Referrals,
    caller: Annotated[Caller, Depends(allow(*READERS))],
) -> dict[str, Any]:
    _, kind = read_one(request, app, referral_id)
    entries = app.history(caller.tenant, referral_id)
    items = [{**shown(e, kind), "body": shown(e["body"], kind)} for e in entries]
    return {"id": str(referral_id), "items": items}


@router.post(
    "/referrals/{referral_id}/revise",
    response_model=ReferralPublic,
    summary="Replace the details of a draft",
)
def revise_referral(
    referral_id: UUID,
    body: ReferralDetails,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Annotated[Caller, Depends(allow(*REFERRERS))],
) -> dict[str, Any]:
    view = app.revise(caller.ctx, referral_id, expected_version=if_match, **body.domain_details())
    return _answer(response, view, app, caller)


@router.post(
    "/referrals/{referral_id}/send",
    response_model=ReferralPublic,
    summary="Send on a PERMIT consent decision (409 without consent, 503 if unknown)",
)
def send_referral(
    referral_id: UUID,
    request: Request,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Annotated[Caller, Depends(allow(*REFERRERS))],
    body: StepIn | None = None,
) -> dict[str, Any]:
    view = app.send(
        caller.ctx,
        referral_id,
        expected_version=if_match,
        token=bearer_token(request),
        note=body.note if body else None,
    )
    return _answer(response, view, app, caller)


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
    return _answer(response, view, app, caller)


@router.post("/referrals/{referral_id}/decline", response_model=ReferralPublic)
def decline_referral(
    referral_id: UUID,
    body: DeclineIn,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Annotated[Caller, Depends(allow(*RECEIVING_SIDE))],
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
    caller: Annotated[Caller, Depends(allow(*RECEIVING_SIDE))],
) -> dict[str, Any]:
    return _take(
        app,
        caller,
        referral_id,
        Step.SCHEDULE,
        if_match,
        response,
        appointment_at=body.appointment_at,
        note=body.note,
    )


@router.post("/referrals/{referral_id}/record-attendance", response_model=ReferralPublic)
def record_attendance(
    referral_id: UUID,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Annotated[Caller, Depends(allow(*RECEIVING_SIDE))],
    body: AttendanceIn | None = None,
) -> dict[str, Any]:
    body = body or AttendanceIn()
    return _take(
        app,
        caller,
        referral_id,
        Step.RECORD_ATTENDANCE,
        if_match,
        response,
        attended_at=body.attended_at,
        note=body.note,
    )


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
    caller: Annotated[Caller, Depends(allow(*RECEIVING_SIDE))],
) -> dict[str, Any]:
    return _take(
        app,
        caller,
        referral_id,
        Step.COMPLETE,
        if_match,
        response,
        outcome=body.outcome,
        note=body.note,
    )


# Steps that take only an optional note: (step, who may take it).
NOTE_STEPS: tuple[tuple[Step, tuple[Role, ...]], ...] = (
    (Step.RECEIVE, RECEIVING_SIDE),
    (Step.ACCEPT, RECEIVING_SIDE),
    (Step.RECORD_NO_SHOW, RECEIVING_SIDE),
    (Step.CANCEL_APPOINTMENT, RECEIVING_SIDE),
    (Step.REQUEST_CANCELLATION, REFERRERS),
    (Step.CONFIRM_CANCELLATION, RECEIVING_SIDE),
    (Step.CANCEL, REFERRERS),
    (Step.FAIL, (Role.COORDINATOR, Role.ADMIN)),
    (Step.MARK_ENTERED_IN_ERROR, (Role.COORDINATOR, Role.ADMIN)),
)


def _note_step(step: Step, roles: tuple[Role, ...]) -> None:
    # The dependency is a default value: an annotation here could not see `roles`.
    def take_step(
        referral_id: UUID,
        response: Response,
        app: Referrals,
        if_match: IfMatch,
        body: StepIn | None = None,
        caller: Caller = Depends(allow(*roles)),
    ) -> dict[str, Any]:
        note = body.note if body else None
        return _take(app, caller, referral_id, step, if_match, response, note=note)

    name = step.value.replace("-", "_")
    router.add_api_route(
        f"/referrals/{{referral_id}}/{step.value}",
        take_step,
        methods=["POST"],
        response_model=ReferralPublic,
        name=name,
        operation_id=f"{name}_referral",
        summary=f"Step '{step.value}' (optional note)",
    )


for _step, _roles in NOTE_STEPS:
    _note_step(_step, _roles)
