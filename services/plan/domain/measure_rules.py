"""The rules of a plan's measurements: checked, scored, the goals they move and their alerts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import uuid4

from services.common.errors import RuleBroken
from services.plan.domain import checks
from services.plan.domain.commands import RecordMeasurement
from services.plan.domain.goals import GOAL_OPEN, achievement
from services.plan.domain.measures import (
    MEASURES,
    Measure,
    alerts_for,
    interpret,
    measure_or_raise,
    score_measurement,
)
from services.plan.domain.state import PlanState, goal, member, require_open

ALERT_LABELS = {"phq9-item9-positive": ["PSY", "R"], "audit-c-positive": ["ETH", "R"]}


def recorded(
    plan: PlanState, command: RecordMeasurement
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A checked, scored measurement, the achievement it gives each goal, and its alerts."""
    require_open(plan)
    partner = member(plan, command.partner_id, "partner_id")
    measure, value, items, goal_id = command.measure, command.value, command.items, command.goal_id
    known: Measure | None
    if goal_id is not None:
        target = goal(plan, goal_id)
        if partner not in target["partners"]:
            raise RuleBroken("not this goal's partner", {"partner_id": "a partner of the goal"})
        if measure not in (None, target["measure"]):
            raise RuleBroken("not the goal's measure", {"measure": f"use '{target['measure']}'"})
        measure = target["measure"]
        known = MEASURES.get(measure)
    elif measure is None:
        raise RuleBroken("no measure", {"measure": "name the measure or the goal it is for"})
    else:
        known = measure_or_raise(measure)
    if known is not None:
        scored = score_measurement(known, value=value, items=items)
        sex = next(m["sex"] for m in plan.members if m["client_id"] == partner)
        taken_on = command.taken_on
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
        "taken_on": command.taken_on,
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


def series(plan: PlanState, partner: str, measure: str) -> list[dict[str, Any]]:
    """One partner's measurements of a measure, oldest first."""
    found = [m for m in plan.measurements if m["partner_id"] == partner and m["measure"] == measure]
    return sorted(found, key=lambda m: m["taken_on"])


def _achievement_after(plan: PlanState, new: Mapping[str, Any]) -> dict[str, str]:
    changes = {}
    for entry in plan.goals.values():
        if entry["lifecycle_status"] not in GOAL_OPEN or entry["measure"] != new["measure"]:
            continue
        if (
            new["goal_id"] not in (None, entry["goal_id"])
            or new["partner_id"] not in entry["partners"]
        ):
            continue
        values = {
            p: [m["value"] for m in series(plan, p, entry["measure"])] for p in entry["partners"]
        }
        values[new["partner_id"]].append(new["value"])
        status = achievement(entry, values, new["partner_id"])
        if status != entry["achievement_status"]:
            changes[entry["goal_id"]] = status
    return changes
