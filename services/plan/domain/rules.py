"""The checks of the plan's care commands: each returns the fields of the event to record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from services.common.errors import Conflict, RuleBroken
from services.plan.domain import checks
from services.plan.domain.formats import (
    JOINT_FORMATS,
    MODALITIES,
    RESUME_REASON,
    check_mix,
    one_of,
    reason_or_raise,
)
from services.plan.domain.goals import ACHIEVEMENT, GOAL_HOLDABLE, GOAL_OPEN, achievement
from services.plan.domain.measures import (
    MEASURES,
    Measure,
    alerts_for,
    interpret,
    measure_or_raise,
    score_measurement,
)
from services.plan.domain.sharing import AgreementInForce, session_terms

if TYPE_CHECKING:
    from services.plan.domain.commands import PlanCommands as Plan

ALERT_LABELS = {"phq9-item9-positive": ["PSY", "R"], "audit-c-positive": ["ETH", "R"]}
PAUSED = (
    "joint work is paused by a format shift: record a readiness decision and a "
    "'ready-to-resume' format shift first"
)


def session(
    plan: Plan,
    *,
    format: str,
    modality: str,
    held_on: dt.date,
    focus_issues: Sequence[str],
    partner_id: str | None = None,
    attendees: Sequence[str] | None = None,
    clinician_id: str | None = None,
    check_ins: Sequence[Mapping[str, Any]] = (),
    homework: Sequence[str] = (),
    sharing_agreement_id: str | None = None,
    share_by: dt.date | None = None,
    agreement: AgreementInForce | None = None,
) -> dict[str, Any]:
    """A session: joint sessions wait while joint work is paused; individual ones name the
    partner and, in couples work, rest on the information-sharing agreement in force."""
    plan.require_active("recording a session")
    one_of(format, plan.formats(), "format")
    one_of(modality, MODALITIES, "modality")
    if format in JOINT_FORMATS and plan.joint_paused:
        raise Conflict(PAUSED)
    if format == "individual":
        if partner_id is None and len(plan.member_ids) == 1:
            partner_id = plan.member_ids[0]
        seen = [plan.member(partner_id, "partner_id")]
    elif attendees:
        seen = [plan.member(a, f"attendees[{i}]") for i, a in enumerate(attendees)]
    else:
        seen = [plan.member(partner_id, "partner_id")] if partner_id else plan.member_ids
    checked_check_ins = []
    for i, entry in enumerate(check_ins):
        who = plan.member(entry.get("partner_id"), f"check_ins[{i}].partner_id")
        if who not in seen:
            raise RuleBroken("not at this session", {f"check_ins[{i}].partner_id": "an attendee"})
        mood = checks.number(entry.get("mood"), f"check_ins[{i}].mood")
        if not 0 <= mood <= 10:
            raise RuleBroken("mood out of range", {f"check_ins[{i}].mood": "rate mood 0-10"})
        triggers = checks.texts(entry.get("triggers") or (), f"check_ins[{i}].triggers", most=10)
        checked_check_ins.append({"partner_id": who, "mood": mood, "triggers": triggers})
    terms = session_terms(
        unit_kind=plan.unit_kind,
        format=format,
        held_on=held_on,
        agreement=agreement,
        partner_ids=plan.member_ids,
        sharing_agreement_id=sharing_agreement_id,
        share_by=share_by,
    )
    return {
        "session_id": str(uuid4()),
        "format": format,
        "modality": modality,
        "held_on": held_on,
        "partner_id": partner_id if format == "individual" else None,
        "attendees": list(dict.fromkeys(seen)),
        "clinician_id": plan.clinician(clinician_id, "clinician_id") if clinician_id else None,
        "check_ins": checked_check_ins,
        "focus_issues": checks.texts(focus_issues, "focus_issues", least=1, most=2),
        "homework": checks.texts(homework, "homework", most=10),
        **terms,
    }


def measurement(
    plan: Plan,
    *,
    partner_id: str,
    taken_on: dt.date,
    measure: str | None = None,
    value: float | None = None,
    items: Sequence[int] | None = None,
    goal_id: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A checked, scored measurement, the achievement it gives each goal, and its alerts."""
    plan.require_open()
    partner = plan.member(partner_id, "partner_id")
    known: Measure | None
    if goal_id is not None:
        goal = plan.goal(goal_id)
        if partner not in goal["partners"]:
            raise RuleBroken("not this goal's partner", {"partner_id": "a partner of the goal"})
        if measure not in (None, goal["measure"]):
            raise RuleBroken("not the goal's measure", {"measure": f"use '{goal['measure']}'"})
        measure = goal["measure"]
        known = MEASURES.get(measure)
    elif measure is None:
        raise RuleBroken("no measure", {"measure": "name the measure or the goal it is for"})
    else:
        known = measure_or_raise(measure)
    if known is not None:
        scored = score_measurement(known, value=value, items=items)
        sex = next(m["sex"] for m in plan.members if m["client_id"] == partner)
        earlier = [m["value"] for m in series(plan, partner, measure) if m["taken_on"] <= taken_on]
        meaning = interpret(known, scored, sex=sex, previous=earlier)
        score, checked_items, labels = scored.score, scored.items, list(known.labels)
    else:
        if items is not None:
            raise RuleBroken("not an instrument", {"items": "this goal's measure takes a value"})
        score = checks.number(value, "value")
        if score < 0:
            raise RuleBroken("negative value", {"value": "give a value of 0 or more"})
        checked_items, meaning, labels = None, {}, []
    fields = {
        "measurement_id": str(uuid4()),
        "partner_id": partner,
        "measure": measure,
        "goal_id": goal_id,
        "value": score,
        "items": checked_items,
        "taken_on": taken_on,
        "interpretation": meaning,
        "security_labels": labels,
    }
    fields["achievement"] = _achievement_after(plan, fields)
    raised = [
        {
            "alert_id": str(uuid4()),
            "kind": kind,
            "partner_id": partner,
            "measure": measure,
            "measurement_id": fields["measurement_id"],
            "security_labels": sorted({*labels, *ALERT_LABELS.get(kind, ["R"])}),
        }
        for kind in (alerts_for(known, meaning) if known else [])
    ]
    return fields, raised


def series(plan: Plan, partner: str, measure: str) -> list[dict[str, Any]]:
    """One partner's measurements of a measure, oldest first."""
    found = [m for m in plan.measurements if m["partner_id"] == partner and m["measure"] == measure]
    return sorted(found, key=lambda m: m["taken_on"])


def _achievement_after(plan: Plan, new: Mapping[str, Any]) -> dict[str, str]:
    changes = {}
    for goal in plan.goals.values():
        if goal["lifecycle_status"] not in GOAL_OPEN or goal["measure"] != new["measure"]:
            continue
        if (
            new["goal_id"] not in (None, goal["goal_id"])
            or new["partner_id"] not in goal["partners"]
        ):
            continue
        values = {
            p: [m["value"] for m in series(plan, p, goal["measure"])] for p in goal["partners"]
        }
        values[new["partner_id"]].append(new["value"])
        status = achievement(goal, values, new["partner_id"])
        if status != goal["achievement_status"]:
            changes[goal["goal_id"]] = status
    return changes


def readiness(
    plan: Plan, *, ready: bool, criteria: Sequence[str], decided_by: str, decided_on: dt.date
) -> dict[str, Any]:
    """A recorded decision on whether the criteria to resume joint work are met."""
    plan.require_open()
    if not plan.joint_paused:
        raise Conflict("joint work is not paused: a readiness decision is not needed")
    return {
        "decision_id": str(uuid4()),
        "ready": ready,
        "criteria": checks.texts(criteria, "criteria", least=1, most=10),
        "decided_by": plan.clinician(decided_by, "decided_by"),
        "decided_on": decided_on,
    }


def shift(
    plan: Plan,
    *,
    reason: str,
    rationale: str,
    decided_by: str,
    effective_on: dt.date,
    review_on: dt.date,
    mix: Mapping[str, int],
    about_partner_id: str | None = None,
) -> dict[str, Any]:
    """A format shift: pausing joint work holds joint goals; resuming needs a 'ready' decision."""
    plan.require_open()
    coded = reason_or_raise(reason)
    if plan.unit_kind == "individual":
        raise RuleBroken(
            "no joint work to shift", {"reason": "format shifts are for couples and families"}
        )
    checks.later(effective_on, review_on, "review_on", "effective_on")
    new_mix = check_mix(plan.unit_kind, mix)
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
    return {
        "shift_id": str(uuid4()),
        "reason": reason,
        "rationale": checks.text(rationale, "rationale"),
        "about_partner_id": plan.member(about_partner_id, "about_partner_id")
        if about_partner_id
        else None,
        "decided_by": plan.clinician(decided_by, "decided_by"),
        "effective_on": effective_on,
        "review_on": review_on,
        "mix": new_mix,
        "pauses_joint": coded.pauses_joint,
        "resumes_joint": reason == RESUME_REASON,
        "held_goals": held,
        "released_goals": released,
        "security_labels": sorted(coded.labels),
    }


def review(
    plan: Plan,
    *,
    held_on: dt.date,
    goal_progress: Sequence[Mapping[str, Any]] = (),
    next_mix: Mapping[str, int],
    strategy_changes: Sequence[str] = (),
) -> dict[str, Any]:
    """A review: progress per goal, strategy changes, the next mix and the next due date."""
    plan.require_open()
    progress = []
    for i, entry in enumerate(goal_progress):
        goal = plan.goal(str(entry.get("goal_id")))
        status = entry.get("achievement_status")
        if status not in ACHIEVEMENT:
            raise RuleBroken(
                "unknown achievement status",
                {f"goal_progress[{i}].achievement_status": f"use {', '.join(ACHIEVEMENT)}"},
            )
        note = entry.get("note")
        progress.append(
            {
                "goal_id": goal["goal_id"],
                "achievement_status": status,
                "note": checks.text(note, f"goal_progress[{i}].note") if note else None,
            }
        )
    checked_mix = check_mix(plan.unit_kind, next_mix, "next_mix")
    if plan.joint_paused and any(checked_mix.get(f, 0) for f in JOINT_FORMATS):
        raise RuleBroken("joint sessions in a pause", {"next_mix": PAUSED})
    return {
        "review_id": str(uuid4()),
        "held_on": held_on,
        "goal_progress": progress,
        "strategy_changes": checks.texts(strategy_changes, "strategy_changes", most=20),
        "next_mix": checked_mix,
        "next_review_on": held_on + dt.timedelta(weeks=plan.review_interval_weeks),
    }
