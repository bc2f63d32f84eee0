"""What the therapist's worklists ask of one plan: uneven growth and review due dates (pure).

Both read a plan summary (`services.plan.summary`): dates are ISO strings there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from services.plan.domain.formats import JOINT_FORMATS

DEFAULT_STRETCH_WEEKS = 6
WORKING = frozenset({"active", "on-hold"})


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def alone_stretch(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """The partner who alone has attended since the last joint session, and since when.

    Only individual sessions count as attendance here; None for an individual unit, or when
    both partners (or nobody) attended individually since the last joint or family session.
    It depends on the sessions only, so the read model keeps it as columns (queries.py).
    """
    if summary["unit_kind"] == "individual":
        return None
    sessions = [{**s, "held_on": dt.date.fromisoformat(s["held_on"])} for s in summary["sessions"]]
    last_joint = max((s["held_on"] for s in sessions if s["format"] in JOINT_FORMATS), default=None)
    alone = [
        s
        for s in sessions
        if s["format"] == "individual" and (last_joint is None or s["held_on"] > last_joint)
    ]
    partners = {s["partner_id"] for s in alone}
    if len(partners) != 1:
        return None
    return {
        "partner_id": partners.pop(),
        "since": min(s["held_on"] for s in alone),
        "sessions": len(alone),
        "last_joint_on": last_joint,
    }


def uneven_growth(
    summary: Mapping[str, Any], today: dt.date, stretch_weeks: int
) -> dict[str, Any] | None:
    """The partner who alone has attended since the last joint session, for over the stretch.

    None when the plan is not being worked, nobody attends alone (`alone_stretch`) or the
    stretch is shorter.
    """
    stretch = alone_stretch(summary) if summary["status"] in WORKING else None
    if stretch is None:
        return None
    since = stretch["since"]
    if today - since <= dt.timedelta(weeks=stretch_weeks):
        return None
    return {
        "plan_id": summary["plan_id"],
        "partner_id": stretch["partner_id"],
        "individual_only_since": since,
        "weeks": (today - since).days // 7,
        "individual_sessions": stretch["sessions"],
        "last_joint_on": stretch["last_joint_on"],
        "joint_paused": summary["joint_paused"],
    }


def review_due(
    summary: Mapping[str, Any], today: dt.date, within_days: int
) -> dict[str, Any] | None:
    """The plan's next review when it falls within `within_days` of today (or is overdue)."""
    due = _date(summary["next_review_on"])
    if summary["status"] not in WORKING or due is None:
        return None
    if due > today + dt.timedelta(days=within_days):
        return None
    return {
        "plan_id": summary["plan_id"],
        "due_on": due,
        "overdue": due < today,
        "days_overdue": max((today - due).days, 0),
        "last_review_on": _date(summary["last_review_on"]),
    }
