"""Plain-data views of a plan as one reader may see it (services/plan/domain/policy.py).

Every view of a plan, JSON or FHIR, current or past, is built from `shown(plan, reader)`: the
plan's parts with each data class cut to what the policy answers. A part that is cut says so in
its own `redacted` list; the plan's `redacted` names every data class (and whose) this reader
does not see in full, whatever the plan holds, so the list itself reveals nothing. Security
labels come only from what is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.common.viewer import Access, without
from services.plan.domain import Plan
from services.plan.domain import policy as p
from services.plan.domain.measure_rules import ALERT_LABELS
from services.plan.domain.measures import MEASURES

SESSION_CONTENT = ("check_ins", "focus_issues", "homework")
GOAL_DETAIL = ("description", "measure", "unit", "baseline", "target")
FRAME_FREE_TEXT = {"reviews": ("goal_progress", "strategy_changes"), "readiness": ("criteria",)}


cut = without  # the item without the fields, saying which were taken out


@dataclass(frozen=True)
class Shown:
    """A plan's parts as one reader sees them (lists of plain dicts) and their labels."""

    frame: Access
    goals: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    measurements: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    shifts: list[dict[str, Any]]
    readiness: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    labels: list[str]
    redacted: list[str]


def owner_of_session(session: dict[str, Any]) -> str | None:
    return session["partner_id"] if session["format"] == "individual" else None


def show_session(reader: p.Reader, session: dict[str, Any]) -> dict[str, Any] | None:
    access = p.individual_content(reader, owner_of_session(session))
    if access is Access.DENIED:
        return None
    return dict(session) if access is Access.FULL else cut(session, SESSION_CONTENT)


def show_shift(reader: p.Reader, shift: dict[str, Any]) -> dict[str, Any]:
    about = shift.get("about_partner_id")
    hidden: tuple[str, ...] = ()
    if p.shift_reason(reader, about) is not Access.FULL:
        hidden += ("reason", "security_labels")
    if p.shift_rationale(reader, about) is not Access.FULL:
        hidden += ("rationale",)
    return cut(shift, hidden) if hidden else dict(shift)


def show_goal(reader: p.Reader, goal: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in goal.items() if k != "held_status"}
    view["joint"] = len(goal["partners"]) > 1
    view["held_by_pause"] = goal.get("held_status") is not None
    return view if p.plan_frame(reader) is Access.FULL else cut(view, GOAL_DETAIL)


def _by_owner(
    reader: p.Reader, items: list[dict[str, Any]], rule: Callable[[p.Reader, str | None], Access]
) -> list[dict[str, Any]]:
    return [dict(i) for i in items if rule(reader, i["partner_id"]) is Access.FULL]


def _redacted_classes(reader: p.Reader, plan: Plan) -> list[str]:
    """Every data class (and whose) this reader does not see in full, whatever the plan holds."""
    found = [] if p.plan_frame(reader) is Access.FULL else ["plan-frame"]
    owners: list[str | None] = [*plan.member_ids, None]
    rules = (
        ("individual-content", p.individual_content),
        ("measurements", p.measurements),
        ("shift-reason", p.shift_reason),
        ("shift-rationale", p.shift_rationale),
    )
    for name, rule in rules:
        for owner in owners:
            if rule(reader, owner) is not Access.FULL and not (
                name == "measurements" and not owner
            ):
                found.append(f"{name}:{owner or 'unit'}")
    return found


def shown(plan: Plan, reader: p.Reader) -> Shown:
    """The one place a plan passes through the read policy for a reader."""
    frame = p.plan_frame(reader)
    sessions = [s for s in (show_session(reader, s) for s in plan.sessions) if s is not None]
    measurements = _by_owner(reader, plan.measurements, p.measurements)
    alerts = _by_owner(reader, plan.alerts, p.measurements)
    shifts = [show_shift(reader, s) for s in plan.shifts]
    full_frame = frame is Access.FULL
    readiness = [
        dict(r) if full_frame else cut(r, FRAME_FREE_TEXT["readiness"]) for r in plan.readiness
    ]
    reviews = [dict(r) if full_frame else cut(r, FRAME_FREE_TEXT["reviews"]) for r in plan.reviews]
    labels: set[str] = set()
    if any("focus_issues" in s for s in sessions):
        labels.add("PSY")
    for m in measurements:
        known = MEASURES.get(m["measure"])
        labels.update(known.labels if known else ())
    for alert in alerts:
        labels.update(ALERT_LABELS.get(alert["kind"], ["R"]))
    for shift in shifts:
        labels.update(shift.get("security_labels", ()))
    return Shown(
        frame=frame,
        goals=[show_goal(reader, g) for g in plan.goals.values()],
        sessions=sessions,
        measurements=measurements,
        alerts=alerts,
        shifts=shifts,
        readiness=readiness,
        reviews=reviews,
        labels=sorted(labels),
        redacted=_redacted_classes(reader, plan),
    )


def plan_view(plan: Plan, reader: p.Reader) -> dict[str, Any]:
    """The plan as plain data (dates stay dates; the API serialises them)."""
    seen = shown(plan, reader)
    full_frame = seen.frame is Access.FULL
    return {
        "id": str(plan.id),
        "version": plan.version,
        "status": plan.status,
        "status_reason": plan.status_reason if full_frame else None,
        "unit_kind": plan.unit_kind,
        "members": plan.members,
        "clinicians": plan.clinicians,
        "mix": plan.mix,
        "cadence_weeks": plan.cadence_weeks,
        "review_interval_weeks": plan.review_interval_weeks,
        "starts_on": plan.starts_on,
        "next_review_on": plan.next_review_on,
        "joint_paused": plan.joint_paused,
        "goals": seen.goals,
        "measurements": seen.measurements,
        "alerts": seen.alerts,
        "sessions": seen.sessions,
        "format_shifts": seen.shifts,
        "readiness_decisions": seen.readiness,
        "reviews": seen.reviews,
        "referrals": list(plan.referrals.values()),
        "security_labels": seen.labels,
        "redacted": seen.redacted,
        "created_on": plan.created_on,
        "modified_on": plan.modified_on,
    }


FRAME_EVENTS_FREE_TEXT = {
    "PlanStatusChanged": ("reason",),
    "GoalAdded": GOAL_DETAIL,
    "GoalRevised": GOAL_DETAIL,
    "GoalStatusChanged": ("reason",),
    "ReadinessRecorded": FRAME_FREE_TEXT["readiness"],
    "ReviewRecorded": FRAME_FREE_TEXT["reviews"],
}
WITHHELD_BODY = ("id", "version", "timestamp")


def history_view(record: dict[str, Any], reader: p.Reader) -> dict[str, Any]:
    """One history entry cut by the same rules as the plan it belongs to."""
    name, body = record["event"], record["body"]
    if name == "SessionRecorded":
        owner = body["partner_id"] if body["format"] == "individual" else None
        access = p.individual_content(reader, owner)
        if access is Access.REDACTED:
            return {**record, "body": cut(body, (*SESSION_CONTENT, "security_labels"))}
    elif name in ("MeasurementRecorded", "AlertRaised"):
        access = p.measurements(reader, body["partner_id"])
    elif name == "FormatShifted":
        return {**record, "body": show_shift(reader, body)}
    elif name == "EmergencyAccessGranted":
        if p.break_glass_justification(reader) is Access.FULL:
            return record
        return {**record, "body": cut(body, ("justification",))}
    else:
        hidden = FRAME_EVENTS_FREE_TEXT.get(name, ())
        if hidden and p.plan_frame(reader) is not Access.FULL:
            return {**record, "body": cut(body, hidden)}
        return record
    if access is Access.FULL:
        return record
    withheld = {k: body[k] for k in WITHHELD_BODY if k in body}
    return {**record, "event": "Withheld", "type": None, "body": cut(withheld, ("content",))}
