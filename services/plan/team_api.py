"""Care-team routes of the plan service: assign, change and remove clinicians, with a reason.

Its lead or a coordinator changes a plan's care team (`care_team.require_team_manager`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.plan.deps import OnPlan, Scheduler
from services.plan.domain.commands import AssignClinician, ChangeClinicianRoles, RemoveClinician
from services.plan.schemas import CareTeamAssign, CareTeamChange, CareTeamRemoval, CommandResult

router = APIRouter(tags=["care team"])


@router.post(
    "/plans/{plan_id}/care-team",
    status_code=201,
    response_model=CommandResult,
    summary="Assign a clinician to the care team, with a reason",
)
def assign_clinician(body: CareTeamAssign, caller: Scheduler, on: OnPlan) -> Any:
    return on.run(on.plans.assign_clinician, AssignClinician(**body.model_dump()), caller)


@router.patch(
    "/plans/{plan_id}/care-team/{clinician_id}",
    response_model=CommandResult,
    summary="Change a care-team member's roles or clients, with a reason",
)
def change_clinician_roles(
    clinician_id: str, body: CareTeamChange, caller: Scheduler, on: OnPlan
) -> Any:
    return on.run(
        on.plans.change_clinician_roles,
        ChangeClinicianRoles(clinician_id=clinician_id, **body.model_dump()),
        caller,
    )


@router.post(
    "/plans/{plan_id}/care-team/{clinician_id}/removal",
    response_model=CommandResult,
    summary="Take a clinician off the care team, with a reason",
)
def remove_clinician(
    clinician_id: str, body: CareTeamRemoval, caller: Scheduler, on: OnPlan
) -> Any:
    return on.run(
        on.plans.remove_clinician,
        RemoveClinician(clinician_id=clinician_id, **body.model_dump()),
        caller,
    )
