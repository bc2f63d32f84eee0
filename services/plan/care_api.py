"""Care routes of the plan service: goals, measurements, readiness, format shifts and reviews."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.plan.deps import Clinician, OnPlan
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
def add_goal(body: GoalCreate, caller: Clinician, on: OnPlan) -> Any:
    result = on.run(on.plans.add_goal, AddGoal(**body.model_dump()), caller)
    on.response.headers["Location"] = f"/fhir/Goal/{result['goal_id']}"
    return result


@goals_router.patch(
    "/plans/{plan_id}/goals/{goal_id}", response_model=CommandResult, summary="Revise a goal"
)
def revise_goal(goal_id: str, body: GoalRevise, caller: Clinician, on: OnPlan) -> Any:
    return on.run(on.plans.revise_goal, ReviseGoal(goal_id=goal_id, **body.model_dump()), caller)


@goals_router.post(
    "/plans/{plan_id}/goals/{goal_id}/status",
    response_model=CommandResult,
    summary="Change a goal's lifecycle status",
)
def change_goal_status(goal_id: str, body: GoalStatusChange, caller: Clinician, on: OnPlan) -> Any:
    return on.run(
        on.plans.change_goal_status, ChangeGoalStatus(goal_id=goal_id, **body.model_dump()), caller
    )


@router.post(
    "/plans/{plan_id}/measurements",
    status_code=201,
    response_model=CommandResult,
    summary="Record a partner's measurement (scored; may raise alerts)",
)
def record_measurement(body: MeasurementCreate, caller: Clinician, on: OnPlan) -> Any:
    return on.run(on.plans.record_measurement, RecordMeasurement(**body.model_dump()), caller)


@router.post(
    "/plans/{plan_id}/readiness-decisions",
    status_code=201,
    response_model=CommandResult,
    summary="Record whether the criteria to resume joint work are met",
)
def record_readiness(body: ReadinessCreate, caller: Clinician, on: OnPlan) -> Any:
    return on.run(on.plans.record_readiness, RecordReadiness(**body.model_dump()), caller)


@router.post(
    "/plans/{plan_id}/format-shifts",
    status_code=201,
    response_model=CommandResult,
    summary="Shift the format mix (a pause holds joint goals)",
)
def shift_format(body: FormatShiftCreate, caller: Clinician, on: OnPlan) -> Any:
    return on.run(on.plans.shift_format, ShiftFormat(**body.model_dump()), caller)


@router.post(
    "/plans/{plan_id}/reviews",
    status_code=201,
    response_model=CommandResult,
    summary="Record a review",
)
def record_review(body: ReviewCreate, caller: Clinician, on: OnPlan) -> Any:
    return on.run(on.plans.record_review, RecordReview(**body.model_dump()), caller)
