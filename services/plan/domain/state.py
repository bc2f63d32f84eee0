"""What the plan's rules read of a plan, and the lookups they share (pure, no aggregate).

`Plan` satisfies `PlanState`; the rules take a `PlanState`, so they are plain functions over
plain data, testable without the aggregate and with no import of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol
from uuid import UUID

from services.common.errors import Conflict, NotFound, RuleBroken
from services.plan.domain.formats import FORMATS_BY_UNIT
from services.plan.domain.goals import PLAN_OPEN


class PlanState(Protocol):
    """The state of one plan, as its events left it."""

    @property
    def id(self) -> UUID: ...

    unit_kind: str
    status: str
    members: list[dict[str, Any]]
    clinicians: list[dict[str, Any]]
    mix: dict[str, int]
    cadence_weeks: int
    review_interval_weeks: int
    next_review_on: dt.date
    goals: dict[str, dict[str, Any]]
    measurements: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    readiness: list[dict[str, Any]]
    readiness_mark: int
    joint_paused: bool
    access_grants: list[dict[str, Any]]
    noted_records: set[str]


def member_ids(plan: PlanState) -> list[str]:
    return [m["client_id"] for m in plan.members]


def member(plan: PlanState, client_id: str | None, field_name: str) -> str:
    """`client_id` if it names a member of the plan; a 422 naming `field_name` otherwise."""
    ids = member_ids(plan)
    if client_id not in ids:
        raise RuleBroken(
            "not a member of this plan",
            {field_name: f"give one of the plan's client ids: {', '.join(ids)}"},
        )
    return str(client_id)


def clinician(plan: PlanState, clinician_id: str, field_name: str) -> str:
    if clinician_id not in {c["clinician_id"] for c in plan.clinicians}:
        raise RuleBroken("not a clinician of this plan", {field_name: "name a plan clinician"})
    return clinician_id


def formats(plan: PlanState) -> tuple[str, ...]:
    return FORMATS_BY_UNIT[plan.unit_kind]


def goal(plan: PlanState, goal_id: str) -> dict[str, Any]:
    try:
        return plan.goals[goal_id]
    except KeyError:
        raise NotFound(f"no goal {goal_id} in plan {plan.id}") from None


def require_open(plan: PlanState) -> None:
    if plan.status not in PLAN_OPEN:
        raise Conflict(f"the plan is {plan.status}; a closed plan takes no changes")


def require_active(plan: PlanState, what: str) -> None:
    if plan.status != "active":
        raise Conflict(f"the plan is {plan.status}; {what} needs an active plan: activate it")


def entry_of(
    arguments: dict[str, Any], *, leave_out: tuple[str, ...] = (), **more: Any
) -> dict[str, Any]:
    """An `@event` method's own arguments (its `locals()` on entry) as an entry of the state:
    the entry holds the event's fields by construction, so the two cannot drift apart."""
    kept = {k: v for k, v in arguments.items() if k != "self" and k not in leave_out}
    return {**kept, **more}


def hold_and_release(
    goals: dict[str, dict[str, Any]], held: list[str], released: dict[str, str]
) -> None:
    """Put joint goals on hold (keeping the status each resumes to), or release them to it."""
    for goal_id in held:
        entry = goals[goal_id]
        entry.update(held_status=entry["lifecycle_status"], lifecycle_status="on-hold")
    for goal_id, status in released.items():
        goals[goal_id].update(lifecycle_status=status, held_status=None)
