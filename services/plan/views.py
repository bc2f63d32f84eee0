"""Plain-data views of a plan, with a shift's reason hidden from the other partner."""

from __future__ import annotations

from typing import Any

from services.plan.domain import Plan
from services.plan.domain.measures import MEASURES
from services.plan.domain.rules import ALERT_LABELS

HIDDEN_SHIFT_FIELDS = ("reason", "rationale", "security_labels")


def can_see_shift(shift: dict[str, Any], acting_for: str | None) -> bool:
    """A shift's reason and rationale are for the clinicians and the partner it concerns only.

    `acting_for` is the client the caller acts for (None: clinical staff acting for nobody).
    A shift that concerns no one partner is hidden from both partners.
    """
    return acting_for is None or shift.get("about_partner_id") == acting_for


def redact_shift(shift: dict[str, Any], acting_for: str | None) -> dict[str, Any]:
    if can_see_shift(shift, acting_for):
        return dict(shift)
    shown = {k: v for k, v in shift.items() if k not in HIDDEN_SHIFT_FIELDS}
    return {
        **shown,
        "reason": None,
        "rationale": None,
        "security_labels": [],
        "redacted": list(HIDDEN_SHIFT_FIELDS),
    }


def visible_labels(plan: Plan, acting_for: str | None) -> list[str]:
    """Security labels of what this caller sees (all labels for staff acting for nobody)."""
    if acting_for is None:
        return sorted(plan.labels)
    labels: set[str] = {"PSY"} if plan.sessions else set()
    for m in plan.measurements:
        known = MEASURES.get(m["measure"])
        labels.update(known.labels if known else ())
    for alert in plan.alerts:
        labels.update(ALERT_LABELS.get(alert["kind"], ["R"]))
    for shift in plan.shifts:
        labels.update(shift["security_labels"] if can_see_shift(shift, acting_for) else ["R"])
    return sorted(labels)


def plan_view(plan: Plan, acting_for: str | None = None) -> dict[str, Any]:
    """The plan as plain data (dates stay dates; the API serialises them)."""
    return {
        "id": str(plan.id),
        "version": plan.version,
        "status": plan.status,
        "status_reason": plan.status_reason,
        "unit_kind": plan.unit_kind,
        "members": plan.members,
        "clinicians": plan.clinicians,
        "mix": plan.mix,
        "cadence_weeks": plan.cadence_weeks,
        "review_interval_weeks": plan.review_interval_weeks,
        "starts_on": plan.starts_on,
        "next_review_on": plan.next_review_on,
        "joint_paused": plan.joint_paused,
        "goals": [goal_view(g) for g in plan.goals.values()],
        "measurements": list(plan.measurements),
        "alerts": list(plan.alerts),
        "sessions": list(plan.sessions),
        "format_shifts": [redact_shift(s, acting_for) for s in plan.shifts],
        "readiness_decisions": list(plan.readiness),
        "reviews": list(plan.reviews),
        "referrals": list(plan.referrals.values()),
        "security_labels": visible_labels(plan, acting_for),
        "created_on": plan.created_on,
        "modified_on": plan.modified_on,
    }


def goal_view(goal: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in goal.items() if k != "held_status"}
    view["joint"] = len(goal["partners"]) > 1
    view["held_by_pause"] = goal.get("held_status") is not None
    return view


def history_view(record: dict[str, Any], acting_for: str | None) -> dict[str, Any]:
    """One history entry; a format shift's reason is hidden from the other partner."""
    body = record["body"]
    if record["event"] == "FormatShifted" and not can_see_shift(body, acting_for):
        body = redact_shift(body, acting_for)
    return {**record, "body": body}
