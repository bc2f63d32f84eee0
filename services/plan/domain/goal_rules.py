"""The rules of a plan's goals: adding, revising and moving one through its lifecycle.

A joint goal (two or more partners) waits while joint work is paused by a format shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from services.common.errors import Conflict, InvalidTransition, RuleBroken
from services.plan.domain import checks
from services.plan.domain.commands import AddGoal, ChangeGoalStatus, ReviseGoal
from services.plan.domain.goals import (
    GOAL_HOLDABLE,
    GOAL_OPEN,
    GOAL_START_STATUSES,
    GOAL_TRANSITIONS,
)
from services.plan.domain.measures import MEASURES, check_in_range
from services.plan.domain.state import PlanState, goal, member, require_open

PAUSED_GOALS = "joint work is paused, so joint goals stay on hold"
GOAL_FIELDS = ("description", "partners", "measure", "unit", "baseline", "target")


def added(plan: PlanState, command: AddGoal) -> dict[str, Any]:
    """A new goal; a joint goal added while joint work is paused starts on hold."""
    require_open(plan)
    fields = checked_goal(
        plan,
        description=command.description,
        partners=command.partners,
        measure=command.measure,
        unit=command.unit,
        baseline=command.baseline,
        target=command.target,
    )
    status = command.status
    if status not in GOAL_START_STATUSES:
        raise RuleBroken("bad start status", {"status": f"use {', '.join(GOAL_START_STATUSES)}"})
    held = plan.joint_paused and len(fields["partners"]) > 1
    return {
        "goal_id": str(uuid4()),
        **fields,
        "due_on": command.due_on,
        "lifecycle_status": "on-hold" if held else status,
        "held_status": status if held else None,
    }


def checked_goal(
    plan: PlanState,
    *,
    description: str,
    partners: Sequence[str],
    measure: str,
    unit: str,
    baseline: float,
    target: float,
) -> dict[str, Any]:
    """A goal's own fields, checked: partners of the plan, a change to reach, a known range."""
    if not partners:
        raise RuleBroken("no partner", {"partners": "name the partner(s) the goal is for"})
    checked_partners = [member(plan, p, f"partners[{i}]") for i, p in enumerate(partners)]
    measure = checks.text(measure, "measure", limit=200)
    base, goal_target = checks.number(baseline, "baseline"), checks.number(target, "target")
    if base == goal_target:
        raise RuleBroken("no change to reach", {"target": "must differ from the baseline"})
    if measure in MEASURES:
        check_in_range(measure, base, "baseline")
        check_in_range(measure, goal_target, "target")
    return {
        "description": checks.text(description, "description", limit=500),
        "partners": list(dict.fromkeys(checked_partners)),
        "measure": measure,
        "unit": checks.text(unit, "unit", limit=50),
        "baseline": base,
        "target": goal_target,
    }


def revised(plan: PlanState, command: ReviseGoal) -> dict[str, Any]:
    """The goal with the given fields changed; a goal may not turn joint during a pause."""
    require_open(plan)
    current = goal(plan, command.goal_id)
    if current["lifecycle_status"] not in GOAL_OPEN:
        raise Conflict(
            f"goal {command.goal_id} is {current['lifecycle_status']} and takes no changes"
        )
    merged = {k: current[k] for k in GOAL_FIELDS}
    given = {k: getattr(command, k) for k in GOAL_FIELDS}
    merged.update({k: v for k, v in given.items() if v is not None})
    checked = checked_goal(plan, **merged)
    due_on = command.due_on
    if checked == {k: current[k] for k in checked} and due_on in (None, current["due_on"]):
        raise RuleBroken("nothing to revise", {"body": "change at least one goal field"})
    becomes_joint = len(checked["partners"]) > 1 and len(current["partners"]) == 1
    if plan.joint_paused and becomes_joint and current["lifecycle_status"] in GOAL_HOLDABLE:
        raise Conflict(f"{PAUSED_GOALS}: put the goal on hold before making it joint")
    return {"goal_id": command.goal_id, **checked, "due_on": due_on or current["due_on"]}


def status_change(plan: PlanState, command: ChangeGoalStatus) -> dict[str, Any]:
    """A step in the goal's lifecycle; a held joint goal waits for joint work to resume."""
    require_open(plan)
    goal_id, to = command.goal_id, command.status
    current = goal(plan, goal_id)["lifecycle_status"]
    allowed = GOAL_TRANSITIONS[current]
    if to not in allowed:
        raise InvalidTransition("the goal", current, to, allowed)
    if plan.joint_paused and len(plan.goals[goal_id]["partners"]) > 1 and to in GOAL_HOLDABLE:
        raise Conflict(
            f"{PAUSED_GOALS}: record a readiness decision and a 'ready-to-resume' "
            "format shift first"
        )
    reason = command.reason
    return {
        "goal_id": goal_id,
        "from_status": current,
        "lifecycle_status": to,
        "reason": checks.text(reason, "reason", limit=500) if reason else None,
    }
