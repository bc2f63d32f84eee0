"""The plan service's HTTP API: the plans themselves and break-glass access to them.

Each route parses the body into a command (services/plan/domain/commands.py), checks who may
call (access.py), passes If-Match, calls the application and sets the ETag. What each caller
sees of a plan is the read policy's (docs/access-policy.md), applied in `reads.PlanReads`;
`X-Acting-For: <client id>` only narrows it. The other areas are in care_api.py, team_api.py,
sessions_api.py, worklists_api.py and fhir_api.py; `build_router` puts them together.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.common.errors import RuleBroken
from services.common.http.access import asked
from services.common.http.app import set_etag
from services.common.readmodels.paging import WindowParams, page_body
from services.common.validation import Moment
from services.plan import care_api, sessions_api, team_api, worklists_api
from services.plan.deps import (
    Clinician,
    Compliance,
    IfMatch,
    PageParams,
    Plans,
    Reader,
    Reads,
    Scheduler,
    written,
)
from services.plan.domain.commands import (
    BreakGlass,
    ChangeSchedule,
    ChangeStatus,
    CreatePlan,
    ReviewBreakGlass,
)
from services.plan.fhir_api import add_fhir_routes
from services.plan.reads import PlanReads
from services.plan.schemas import (
    BreakGlassCreate,
    BreakGlassReview,
    CommandResult,
    PlanCreate,
    ScheduleChange,
    StatusChange,
)
from services.plan.views import plan_view

MAX_VERSION = 2**31 - 1

router = APIRouter(tags=["plans"])
access_router = APIRouter(tags=["access"])


def as_utc(at: dt.datetime | None) -> dt.datetime | None:
    """A timestamp without a zone is read as UTC."""
    return at.replace(tzinfo=dt.UTC) if at is not None and at.tzinfo is None else at


@router.post(
    "/plans",
    summary="Create a draft plan for a client unit",
    status_code=201,
    response_model=CommandResult,
)
def create_plan(body: PlanCreate, caller: Clinician, plans: Plans, response: Response) -> Any:
    result = plans.create_plan(ctx=caller.ctx, command=CreatePlan(**body.model_dump()))
    return written(response, result, f"/plans/{result['plan_id']}")


@router.get("/plans", summary="List plans, optionally of one client")
def list_plans(
    request: Request,
    caller: Reader,
    reads: Reads,
    window: WindowParams,
    subject: Annotated[str | None, Query(description="a client id")] = None,
) -> dict[str, Any]:
    items, found = reads.many(asked(request), subject=subject, window=window, render=plan_view)
    return {**page_body(window, found), "items": items}


@router.get("/plans/{plan_id}", summary="The plan now, at ?version=N or as it was ?at=<timestamp>")
def get_plan(
    request: Request,
    plan_id: UUID,
    caller: Reader,
    reads: Reads,
    response: Response,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
    at: Annotated[Moment | None, Query(description="ISO 8601; UTC if no zone")] = None,
) -> dict[str, Any]:
    if version is not None and at is not None:
        raise RuleBroken("give one of version and at", {"at": "drop either version or at"})
    view = reads.plan(asked(request), plan_id, version=version, at=as_utc(at))
    set_etag(response, view["version"])
    return view


@router.get("/plans/{plan_id}/history", summary="Every event of the plan with who, when and why")
def history(
    request: Request, plan_id: UUID, caller: Reader, reads: Reads, page: PageParams
) -> dict[str, Any]:
    return page.slice(reads.history(asked(request), plan_id))


@router.post(
    "/plans/{plan_id}/status",
    summary="Activate, hold, complete, revoke or mark entered-in-error",
    response_model=CommandResult,
)
def change_status(
    plan_id: UUID,
    body: StatusChange,
    caller: Clinician,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = ChangeStatus(**body.model_dump())
    result = plans.change_status(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


@router.patch(
    "/plans/{plan_id}/schedule",
    summary="Change cadence, review interval or next review date",
    response_model=CommandResult,
)
def change_schedule(
    plan_id: UUID,
    body: ScheduleChange,
    caller: Scheduler,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = ChangeSchedule(**body.model_dump())
    result = plans.change_schedule(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


@access_router.post(
    "/plans/{plan_id}/break-glass",
    status_code=201,
    summary="Emergency access for a clinician outside the care team (justified, reviewed)",
)
def break_glass(
    plan_id: UUID, body: BreakGlassCreate, caller: Clinician, plans: Plans, response: Response
) -> Any:
    command = BreakGlass(**body.model_dump())
    return written(response, plans.break_glass(ctx=caller.ctx, plan_id=plan_id, command=command))


@access_router.get(
    "/break-glass/reviews", summary="Break-glass grants waiting for compliance review"
)
def break_glass_reviews(
    request: Request, caller: Compliance, plans: Plans, reads: Reads, page: PageParams
) -> Any:
    rows = plans.open_grants(caller.tenant)
    return page.slice(reads.worklist(asked(request), rows))


@access_router.post(
    "/plans/{plan_id}/break-glass/{grant_id}/review",
    status_code=201,
    response_model=CommandResult,
    summary="Close a break-glass grant's compliance review with a finding",
)
def review_break_glass(
    plan_id: UUID,
    grant_id: str,
    body: BreakGlassReview,
    caller: Compliance,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = ReviewBreakGlass(grant_id=grant_id, **body.model_dump())
    result = plans.review_break_glass(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


def build_router(reads: PlanReads) -> APIRouter:
    """Every plan route: the module-level routers of each area, and the FHIR views."""
    combined = APIRouter()
    for area in (
        router,
        access_router,
        care_api.goals_router,
        team_api.router,
        care_api.router,
        sessions_api.router,
        worklists_api.router,
    ):
        combined.include_router(area)
    add_fhir_routes(combined, reads)
    return combined
