"""Care routes of the plan service: goals, measurements, readiness, format shifts and reviews."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from services.plan.deps import Clinician, IfMatch, Plans, written
from services.plan.domain.commands import (
    AddGoal,
    ChangeGoalStatus,
    RecordMeasurement,
    RecordReadiness,
    RecordReview,
    ReviseGoal,
    ShiftFormat,
)
from services.plan.schemas import (
    CommandResult,
    FormatShiftCreate,
    GoalCreate,
    GoalRevise,
    GoalStatusChange,
    MeasurementCreate,
    ReadinessCreate,
    ReviewCreate,
)

goals_router = APIRouter(tags=["goals"])
router = APIRouter(tags=["care"])


@goals_router.post(
    "/plans/{plan_id}/goals", summary="Add a goal", status_code=201, response_model=CommandResult
)
def add_goal(
    plan_id: UUID,
    body: GoalCreate,
    caller: Clinician,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = AddGoal(**body.model_dump())
    result = plans.add_goal(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result, f"/fhir/Goal/{result['goal_id']}")


@goals_router.patch(
    "/plans/{plan_id}/goals/{goal_id}", response_model=CommandResult, summary="Revise a goal"
)
def revise_goal(
    plan_id: UUID,
    goal_id: str,
    body: GoalRevise,
    caller: Clinician,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = ReviseGoal(goal_id=goal_id, **body.model_dump())
    result = plans.revise_goal(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


@goals_router.post(
    "/plans/{plan_id}/goals/{goal_id}/status",
    response_model=CommandResult,
    summary="Change a goal's lifecycle status",
)
def change_goal_status(
    plan_id: UUID,
    goal_id: str,
    body: GoalStatusChange,
    caller: Clinician,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = ChangeGoalStatus(goal_id=goal_id, **body.model_dump())
    result = plans.change_goal_status(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


@router.post(
    "/plans/{plan_id}/measurements",
    status_code=201,
    response_model=CommandResult,
    summary="Record a partner's measurement (scored; may raise alerts)",
)
def record_measurement(
    plan_id: UUID,
    body: MeasurementCreate,
    caller: Clinician,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = RecordMeasurement(**body.model_dump())
    result = plans.record_measurement(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


@router.post(
    "/plans/{plan_id}/readiness-decisions",
    status_code=201,
    response_model=CommandResult,
    summary="Record whether the criteria to resume joint work are met",
)
def record_readiness(
    plan_id: UUID,
    body: ReadinessCreate,
    caller: Clinician,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = RecordReadiness(**body.model_dump())
    result = plans.record_readiness(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


@router.post(
    "/plans/{plan_id}/format-shifts",
    status_code=201,
    response_model=CommandResult,
    summary="Shift the format mix (a pause holds joint goals)",
)
def shift_format(
    plan_id: UUID,
    body: FormatShiftCreate,
    caller: Clinician,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = ShiftFormat(**body.model_dump())
    result = plans.shift_format(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


@router.post(
    "/plans/{plan_id}/reviews",
    status_code=201,
    response_model=CommandResult,
    summary="Record a review",
)
def record_review(
    plan_id: UUID,
    body: ReviewCreate,
    caller: Clinician,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = RecordReview(**body.model_dump())
    result = plans.record_review(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)
