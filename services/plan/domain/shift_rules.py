"""The rules of format shifts, readiness decisions and reviews.

A shift for a safety reason pauses joint work and holds the joint goals; joint work resumes
only with a 'ready-to-resume' shift after a recorded decision that the criteria are met.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import uuid4

from services.common.errors import Conflict, RuleBroken
from services.plan.domain import checks
from services.plan.domain.commands import RecordReadiness, RecordReview, ShiftFormat
from services.plan.domain.formats import JOINT_FORMATS, RESUME_REASON, check_mix, reason_or_raise
from services.plan.domain.goals import ACHIEVEMENT, GOAL_HOLDABLE
from services.plan.domain.session_rules import PAUSED
from services.plan.domain.state import PlanState, clinician, goal, member, require_open


def readiness(plan: PlanState, command: RecordReadiness) -> dict[str, Any]:
    """A recorded decision on whether the criteria to resume joint work are met."""
    require_open(plan)
    if not plan.joint_paused:
        raise Conflict("joint work is not paused: a readiness decision is not needed")
    return {
        "decision_id": str(uuid4()),
        "ready": command.ready,
        "criteria": checks.texts(command.criteria, "criteria", least=1, most=10),
        "decided_by": clinician(plan, command.decided_by, "decided_by"),
        "decided_on": command.decided_on,
    }


def shift(plan: PlanState, command: ShiftFormat) -> dict[str, Any]:
    """A format shift: pausing joint work holds joint goals; resuming needs a 'ready' decision."""
    require_open(plan)
    reason = command.reason
    coded = reason_or_raise(reason)
    if plan.unit_kind == "individual":
        raise RuleBroken(
            "no joint work to shift", {"reason": "format shifts are for couples and families"}
        )
    checks.later(command.effective_on, command.review_on, "review_on", "effective_on")
    new_mix = check_mix(plan.unit_kind, command.mix)
    joint = sum(new_mix.get(f, 0) for f in JOINT_FORMATS)
    held: list[str] = []
    released: dict[str, str] = {}
    if coded.pauses_joint:
        if joint:
            raise RuleBroken("joint sessions in a pause", {"mix": "plan 0 joint/family sessions"})
        held = [
            g["goal_id"]
            for g in plan.goals.values()
            if len(g["partners"]) > 1 and g["lifecycle_status"] in GOAL_HOLDABLE
        ]
    elif reason == RESUME_REASON:
        if not plan.joint_paused:
            raise Conflict("joint work is not paused: there is nothing to resume")
        decisions = plan.readiness[plan.readiness_mark :]
        if not (decisions and decisions[-1]["ready"]):
            raise Conflict(
                "resuming joint work needs a recorded readiness decision that the "
                "criteria are met: record one first"
            )
        released = {
            g["goal_id"]: g["held_status"]
            for g in plan.goals.values()
            if g["lifecycle_status"] == "on-hold" and g["held_status"]
        }
    about = command.about_partner_id
    return {
        "shift_id": str(uuid4()),
        "reason": reason,
        "rationale": checks.text(command.rationale, "rationale"),
        "about_partner_id": member(plan, about, "about_partner_id") if about else None,
        "decided_by": clinician(plan, command.decided_by, "decided_by"),
        "effective_on": command.effective_on,
        "review_on": command.review_on,
        "mix": new_mix,
        "pauses_joint": coded.pauses_joint,
        "resumes_joint": reason == RESUME_REASON,
        "held_goals": held,
        "released_goals": released,
        "security_labels": sorted(coded.labels),
    }


def review(plan: PlanState, command: RecordReview) -> dict[str, Any]:
    """A review: progress per goal, strategy changes, the next mix and the next due date."""
    require_open(plan)
    progress = []
    for i, entry in enumerate(command.goal_progress):
        reviewed = goal(plan, str(entry.get("goal_id")))
        status = entry.get("achievement_status")
        if status not in ACHIEVEMENT:
            raise RuleBroken(
                "unknown achievement status",
                {f"goal_progress[{i}].achievement_status": f"use {', '.join(ACHIEVEMENT)}"},
            )
        note = entry.get("note")
        progress.append(
            {
                "goal_id": reviewed["goal_id"],
                "achievement_status": status,
                "note": checks.text(note, f"goal_progress[{i}].note") if note else None,
            }
        )
    checked_mix = check_mix(plan.unit_kind, command.next_mix, "next_mix")
    if plan.joint_paused and any(checked_mix.get(f, 0) for f in JOINT_FORMATS):
        raise RuleBroken("joint sessions in a pause", {"next_mix": PAUSED})
    held_on = command.held_on
    return {
        "review_id": str(uuid4()),
        "held_on": held_on,
        "goal_progress": progress,
        "strategy_changes": checks.texts(command.strategy_changes, "strategy_changes", most=20),
        "next_mix": checked_mix,
        "next_review_on": held_on + dt.timedelta(weeks=plan.review_interval_weeks),
    }
