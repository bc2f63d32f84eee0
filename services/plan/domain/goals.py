"""Goal lifecycle and achievement (FHIR Goal value sets) and the plan's own lifecycle (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PLAN_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"active", "revoked", "entered-in-error"}),
    "active": frozenset({"on-hold", "completed", "revoked", "entered-in-error"}),
    "on-hold": frozenset({"active", "completed", "revoked", "entered-in-error"}),
    "completed": frozenset({"entered-in-error"}),
    "revoked": frozenset({"entered-in-error"}),
    "entered-in-error": frozenset(),
}
PLAN_OPEN = frozenset({"draft", "active", "on-hold"})

GOAL_TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset(
        {"planned", "accepted", "active", "rejected", "cancelled", "entered-in-error"}
    ),
    "planned": frozenset({"accepted", "active", "on-hold", "cancelled", "entered-in-error"}),
    "accepted": frozenset({"active", "on-hold", "cancelled", "entered-in-error"}),
    "active": frozenset({"on-hold", "completed", "cancelled", "entered-in-error"}),
    "on-hold": frozenset({"active", "completed", "cancelled", "entered-in-error"}),
    "completed": frozenset({"entered-in-error"}),
    "cancelled": frozenset({"entered-in-error"}),
    "rejected": frozenset({"entered-in-error"}),
    "entered-in-error": frozenset(),
}
GOAL_START_STATUSES = ("proposed", "planned", "accepted", "active")
GOAL_OPEN = frozenset({"proposed", "planned", "accepted", "active", "on-hold"})
# Statuses a pause of joint work holds (and a resumption gives back).
GOAL_HOLDABLE = frozenset({"proposed", "planned", "accepted", "active"})
ACHIEVEMENT = (
    "in-progress",
    "improving",
    "worsening",
    "no-change",
    "achieved",
    "sustaining",
    "not-achieved",
    "no-progress",
    "not-attainable",
)


def progress(baseline: float, target: float, value: float) -> float:
    """How far from baseline (0.0) to target (1.0) a value is; beyond target is > 1."""
    return (value - baseline) / (target - baseline)


def achievement(
    goal: Mapping[str, Any], series: Mapping[str, Sequence[float]], changed: str
) -> str:
    """The achievement status after a new value for partner `changed` (last in its series).

    `series` holds each partner's values of the goal's measure, oldest first. Achieved when every
    partner's latest value reaches the target (sustaining when it was already achieved).
    Otherwise the mean progress over the goal's partners (an unmeasured partner counts at the
    baseline) before and after the new value says improving, worsening or no-change; falling
    back from achieved is worsening.
    """
    current = str(goal.get("achievement_status", "in-progress"))
    baseline, target = float(goal["baseline"]), float(goal["target"])

    def mean_progress(values: Mapping[str, Sequence[float]]) -> float:
        latest = [
            progress(baseline, target, values[p][-1]) if values.get(p) else 0.0
            for p in goal["partners"]
        ]
        return sum(latest) / len(latest)

    partners = goal["partners"]
    if all(series.get(p) for p in partners) and all(
        progress(baseline, target, series[p][-1]) >= 1.0 for p in partners
    ):
        return "sustaining" if current in ("achieved", "sustaining") else "achieved"
    before = {**series, changed: list(series.get(changed, []))[:-1]}
    now, then = mean_progress(series), mean_progress(before)
    if current in ("achieved", "sustaining") or now < then - 1e-9:
        return "worsening"
    return "improving" if now > then + 1e-9 else "no-change"
