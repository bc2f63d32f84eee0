"""Care-team routes of the plan service: assign, change and remove clinicians, with a reason.

Its lead or a coordinator changes a plan's care team (`care_team.require_team_manager`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from services.plan.deps import IfMatch, Plans, Scheduler, written
from services.plan.domain.commands import AssignClinician, ChangeClinicianRoles, RemoveClinician
from services.plan.schemas import CareTeamAssign, CareTeamChange, CareTeamRemoval, CommandResult

router = APIRouter(tags=["care team"])


@router.post(
    "/plans/{plan_id}/care-team",
    status_code=201,
    response_model=CommandResult,
    summary="Assign a clinician to the care team, with a reason",
)
def assign_clinician(
    plan_id: UUID,
    body: CareTeamAssign,
    caller: Scheduler,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = AssignClinician(**body.model_dump())
    result = plans.assign_clinician(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


@router.patch(
    "/plans/{plan_id}/care-team/{clinician_id}",
    response_model=CommandResult,
    summary="Change a care-team member's roles or clients, with a reason",
)
def change_clinician_roles(
    plan_id: UUID,
    clinician_id: str,
    body: CareTeamChange,
    caller: Scheduler,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = ChangeClinicianRoles(clinician_id=clinician_id, **body.model_dump())
    result = plans.change_clinician_roles(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)


@router.post(
    "/plans/{plan_id}/care-team/{clinician_id}/removal",
    response_model=CommandResult,
    summary="Take a clinician off the care team, with a reason",
)
def remove_clinician(
    plan_id: UUID,
    clinician_id: str,
    body: CareTeamRemoval,
    caller: Scheduler,
    plans: Plans,
    if_match: IfMatch,
    response: Response,
) -> Any:
    command = RemoveClinician(clinician_id=clinician_id, **body.model_dump())
    result = plans.remove_clinician(
        ctx=caller.ctx, plan_id=plan_id, command=command, expected_version=if_match
    )
    return written(response, result)
