"""The plan service's HTTP API: parse, authorize, If-Match, call the application, set the ETag.

What each caller sees of a plan is the read policy's (docs/access-policy.md), applied in
`reads.PlanReads`; `X-Acting-For: <client id>` only narrows it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.common.access_http import asked
from services.common.errors import RuleBroken
from services.common.http import IfMatch, PageParams, set_etag
from services.common.validation import Moment
from services.plan.access import Clinician, Compliance, Reader, Scheduler
from services.plan.application import PlanApplication
from services.plan.command_routes import add_plan_command
from services.plan.fhir_api import add_fhir_routes
from services.plan.reads import PlanReads
from services.plan.schemas import (
    BreakGlassCreate,
    BreakGlassReview,
    CareTeamAssign,
    CareTeamChange,
    CareTeamRemoval,
    CommandResult,
    FormatShiftCreate,
    GoalCreate,
    GoalRevise,
    GoalStatusChange,
    MeasurementCreate,
    PlanCreate,
    ReadinessCreate,
    ReviewCreate,
    ScheduleChange,
    StatusChange,
)
from services.plan.sessions_api import add_session_routes
from services.plan.views import plan_view
from services.plan.worklists_api import add_worklist_routes

MAX_VERSION = 2**31 - 1


def as_utc(at: dt.datetime | None) -> dt.datetime | None:
    """A timestamp without a zone is read as UTC."""
    return at.replace(tzinfo=dt.UTC) if at is not None and at.tzinfo is None else at


def build_router(app: PlanApplication, reads: PlanReads) -> APIRouter:
    """The plan routes, bound to one long-lived PlanApplication (built in the composition root).

    Every read goes through `reads` (policy, consent, access log); commands go to `app`.
    """
    router = APIRouter()

    def done(response: Response, result: dict[str, Any], location: str | None = None) -> Any:
        set_etag(response, result["version"])
        if location:
            response.headers["Location"] = location
        return result

    @router.post(
        "/plans",
        tags=["plans"],
        summary="Create a draft plan for a client unit",
        status_code=201,
        response_model=CommandResult,
    )
    def create_plan(body: PlanCreate, caller: Clinician, response: Response) -> Any:
        result = app.create_plan(ctx=caller.ctx, **body.model_dump())
        return done(response, result, f"/plans/{result['plan_id']}")

    @router.get("/plans", tags=["plans"], summary="List plans, optionally of one client")
    def list_plans(
        request: Request,
        caller: Reader,
        page: PageParams,
        subject: Annotated[str | None, Query(description="a client id")] = None,
    ) -> dict[str, Any]:
        items, total = reads.many(
            asked(request),
            subject=subject,
            offset=page.offset,
            limit=page.limit,
            render=plan_view,
        )
        return page.of(items, total)

    @router.get(
        "/plans/{plan_id}",
        tags=["plans"],
        summary="The plan now, at ?version=N or as it was ?at=<timestamp>",
    )
    def get_plan(
        request: Request,
        plan_id: UUID,
        caller: Reader,
        response: Response,
        version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
        at: Annotated[Moment | None, Query(description="ISO 8601; UTC if no zone")] = None,
    ) -> dict[str, Any]:
        if version is not None and at is not None:
            raise RuleBroken("give one of version and at", {"at": "drop either version or at"})
        view = reads.plan(asked(request), plan_id, version=version, at=as_utc(at))
        set_etag(response, view["version"])
        return view

    @router.get(
        "/plans/{plan_id}/history",
        tags=["plans"],
        summary="Every event of the plan with who, when and why",
    )
    def history(
        request: Request, plan_id: UUID, caller: Reader, page: PageParams
    ) -> dict[str, Any]:
        return page.slice(reads.history(asked(request), plan_id))

    @router.post(
        "/plans/{plan_id}/break-glass",
        tags=["access"],
        status_code=201,
        summary="Emergency access for a clinician outside the care team (justified, reviewed)",
    )
    def break_glass(
        plan_id: UUID, body: BreakGlassCreate, caller: Clinician, response: Response
    ) -> Any:
        return done(response, app.break_glass(plan_id, ctx=caller.ctx, **body.model_dump()))

    @router.get(
        "/break-glass/reviews",
        tags=["access"],
        summary="Break-glass grants waiting for compliance review",
    )
    def break_glass_reviews(request: Request, caller: Compliance, page: PageParams) -> Any:
        rows = app.open_grants(caller.tenant)
        return page.slice(reads.worklist(asked(request), rows))

    @router.post(
        "/plans/{plan_id}/break-glass/{grant_id}/review",
        tags=["access"],
        status_code=201,
        response_model=CommandResult,
        summary="Close a break-glass grant's compliance review with a finding",
    )
    def review_break_glass(
        plan_id: UUID,
        grant_id: str,
        body: BreakGlassReview,
        caller: Compliance,
        if_match: IfMatch,
        response: Response,
    ) -> Any:
        result = app.review_break_glass(
            plan_id, grant_id, ctx=caller.ctx, expected_version=if_match, **body.model_dump()
        )
        return done(response, result)

    @router.post(
        "/plans/{plan_id}/goals",
        tags=["goals"],
        summary="Add a goal",
        status_code=201,
        response_model=CommandResult,
    )
    def add_goal(
        plan_id: UUID,
        body: GoalCreate,
        caller: Clinician,
        if_match: IfMatch,
        response: Response,
    ) -> Any:
        result = app.add_goal(
            plan_id, ctx=caller.ctx, expected_version=if_match, **body.model_dump()
        )
        return done(response, result, f"/fhir/Goal/{result['goal_id']}")

    @router.patch(
        "/plans/{plan_id}/goals/{goal_id}",
        tags=["goals"],
        response_model=CommandResult,
        summary="Revise a goal",
    )
    def revise_goal(
        plan_id: UUID,
        goal_id: str,
        body: GoalRevise,
        caller: Clinician,
        if_match: IfMatch,
        response: Response,
    ) -> Any:
        return done(
            response,
            app.revise_goal(
                plan_id, goal_id, ctx=caller.ctx, expected_version=if_match, **body.model_dump()
            ),
        )

    @router.post(
        "/plans/{plan_id}/goals/{goal_id}/status",
        tags=["goals"],
        response_model=CommandResult,
        summary="Change a goal's lifecycle status",
    )
    def change_goal_status(
        plan_id: UUID,
        goal_id: str,
        body: GoalStatusChange,
        caller: Clinician,
        if_match: IfMatch,
        response: Response,
    ) -> Any:
        return done(
            response,
            app.change_goal_status(
                plan_id, goal_id, ctx=caller.ctx, expected_version=if_match, **body.model_dump()
            ),
        )

    @router.patch(
        "/plans/{plan_id}/care-team/{clinician_id}",
        tags=["care team"],
        response_model=CommandResult,
        summary="Change a care-team member's roles or clients, with a reason",
    )
    def change_clinician_roles(
        plan_id: UUID,
        clinician_id: str,
        body: CareTeamChange,
        caller: Scheduler,
        if_match: IfMatch,
        response: Response,
    ) -> Any:
        return done(
            response,
            app.change_clinician_roles(
                plan_id,
                clinician_id,
                ctx=caller.ctx,
                expected_version=if_match,
                **body.model_dump(),
            ),
        )

    @router.post(
        "/plans/{plan_id}/care-team/{clinician_id}/removal",
        tags=["care team"],
        response_model=CommandResult,
        summary="Take a clinician off the care team, with a reason",
    )
    def remove_clinician(
        plan_id: UUID,
        clinician_id: str,
        body: CareTeamRemoval,
        caller: Scheduler,
        if_match: IfMatch,
        response: Response,
    ) -> Any:
        return done(
            response,
            app.remove_clinician(
                plan_id,
                clinician_id,
                ctx=caller.ctx,
                expected_version=if_match,
                **body.model_dump(),
            ),
        )

    commands = (  # (method, path, body, who may call, command, summary, tag, status)
        (
            "POST",
            "/plans/{plan_id}/status",
            StatusChange,
            Clinician,
            app.change_status,
            "Activate, hold, complete, revoke or mark entered-in-error",
            "plans",
            200,
        ),
        (
            "PATCH",
            "/plans/{plan_id}/schedule",
            ScheduleChange,
            Scheduler,
            app.change_schedule,
            "Change cadence, review interval or next review date",
            "plans",
            200,
        ),
        (
            "POST",
            "/plans/{plan_id}/measurements",
            MeasurementCreate,
            Clinician,
            app.record_measurement,
            "Record a partner's measurement (scored; may raise alerts)",
            "care",
            201,
        ),
        (
            "POST",
            "/plans/{plan_id}/readiness-decisions",
            ReadinessCreate,
            Clinician,
            app.record_readiness,
            "Record whether the criteria to resume joint work are met",
            "care",
            201,
        ),
        (
            "POST",
            "/plans/{plan_id}/format-shifts",
            FormatShiftCreate,
            Clinician,
            app.shift_format,
            "Shift the format mix (a pause holds joint goals)",
            "care",
            201,
        ),
        (
            "POST",
            "/plans/{plan_id}/care-team",
            CareTeamAssign,
            Scheduler,
            app.assign_clinician,
            "Assign a clinician to the care team, with a reason",
            "care team",
            201,
        ),
        (
            "POST",
            "/plans/{plan_id}/reviews",
            ReviewCreate,
            Clinician,
            app.record_review,
            "Record a review",
            "care",
            201,
        ),
    )
    for method, path, body, who, command, summary, tag, status in commands:
        add_plan_command(
            router,
            method=method,
            path=path,
            body_model=body,
            caller=who,
            command=command,
            summary=summary,
            tags=[tag],
            status_code=status,
        )
    add_session_routes(router, app)
    add_worklist_routes(router, app, reads)
    add_fhir_routes(router, reads)
    return router
