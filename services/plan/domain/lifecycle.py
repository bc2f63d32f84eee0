"""The rules of a plan's life: opening it, its status, its schedule, referral notes.

Each rule checks a command against the plan's state and returns the fields of the event to
record; it changes nothing itself (the aggregate applies the event).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.common.errors import InvalidTransition, RuleBroken
from services.plan.domain import checks
from services.plan.domain.commands import ChangeSchedule, ChangeStatus, CreatePlan, NoteReferral
from services.plan.domain.formats import check_mix, one_of
from services.plan.domain.goals import PLAN_TRANSITIONS
from services.plan.domain.state import PlanState, require_open

REFERRAL_STAGES = ("sent", "accepted", "completed")


def opened(command: CreatePlan) -> dict[str, Any]:
    """A draft plan for a client unit: its members, its care team, its mix and its schedule."""
    unit_kind = command.unit_kind
    members = checks.members(unit_kind, command.members)
    clinicians = checks.clinicians(unit_kind, command.clinicians)
    checks.weeks(command.cadence_weeks, "cadence_weeks", 12)
    checks.weeks(command.review_interval_weeks, "review_interval_weeks", 26)
    return {
        "unit_kind": unit_kind,
        "members": members,
        "clinicians": clinicians,
        "mix": check_mix(unit_kind, command.mix),
        "cadence_weeks": command.cadence_weeks,
        "review_interval_weeks": command.review_interval_weeks,
        "starts_on": command.starts_on,
        "next_review_on": command.starts_on + dt.timedelta(weeks=command.review_interval_weeks),
    }


def status_change(plan: PlanState, command: ChangeStatus) -> dict[str, Any]:
    """Activate, hold, complete, revoke or mark the plan entered-in-error."""
    allowed = PLAN_TRANSITIONS.get(plan.status, frozenset())
    if command.status not in allowed:
        raise InvalidTransition("the plan", plan.status, command.status, allowed)
    reason = command.reason
    return {
        "from_status": plan.status,
        "status": command.status,
        "reason": checks.text(reason, "reason", limit=500) if reason else None,
    }


def schedule_change(plan: PlanState, command: ChangeSchedule) -> dict[str, Any]:
    """A new cadence, review interval or next review date; at least one must change."""
    require_open(plan)
    given = command.cadence_weeks, command.review_interval_weeks
    cadence = plan.cadence_weeks if given[0] is None else given[0]
    interval = plan.review_interval_weeks if given[1] is None else given[1]
    checks.weeks(cadence, "cadence_weeks", 12)
    checks.weeks(interval, "review_interval_weeks", 26)
    due = command.next_review_on or plan.next_review_on
    before = (plan.cadence_weeks, plan.review_interval_weeks, plan.next_review_on)
    if (cadence, interval, due) == before:
        raise RuleBroken("nothing to change", {"body": "change at least one schedule field"})
    return {"cadence_weeks": cadence, "review_interval_weeks": interval, "next_review_on": due}


def referral_note(plan: PlanState, command: NoteReferral) -> dict[str, Any] | None:
    """A referral event to note on the plan it serves; None if this record was noted before."""
    if command.record_id in plan.noted_records:
        return None
    one_of(command.stage, REFERRAL_STAGES, "stage")
    return {
        "record_id": command.record_id,
        "referral_id": command.referral_id,
        "stage": command.stage,
        "outcome": command.outcome,
    }
