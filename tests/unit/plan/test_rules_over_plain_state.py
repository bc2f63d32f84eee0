"""The plan's rules are pure functions over `PlanState`: they run on plain data, no aggregate.

Each rule returns the fields of the event to record and changes nothing itself; the aggregate
applies the event. So a rule can be checked on a state built by hand.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.common.errors import Conflict, RuleBroken
from services.plan.domain import goal_rules, lifecycle, shift_rules
from services.plan.domain.commands import AddGoal, ChangeSchedule, ShiftFormat
from services.plan.domain.state import PlanState
from tests.unit.plan.support_builders import ALEX, SAM, THERAPIST, joint_goal, resume, shift_fields


@dataclass
class PlainState:
    """A couple's active plan as plain data, shaped like `PlanState`."""

    id: UUID = field(default_factory=uuid4)
    unit_kind: str = "couple"
    status: str = "active"
    members: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"client_id": ALEX, "sex": "female"},
            {"client_id": SAM, "sex": "male"},
        ]
    )
    clinicians: list[dict[str, Any]] = field(
        default_factory=lambda: [{"clinician_id": THERAPIST, "roles": ["couples-therapist"]}]
    )
    mix: dict[str, int] = field(default_factory=lambda: {"joint": 2, "individual": 2})
    cadence_weeks: int = 4
    review_interval_weeks: int = 4
    next_review_on: dt.date = dt.date(2026, 2, 2)
    goals: dict[str, dict[str, Any]] = field(default_factory=dict)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    readiness: list[dict[str, Any]] = field(default_factory=list)
    readiness_mark: int = 0
    joint_paused: bool = False
    access_grants: list[dict[str, Any]] = field(default_factory=list)
    noted_records: set[str] = field(default_factory=set)


def with_joint_goal(state: PlainState) -> str:
    fields = goal_rules.added(state, AddGoal(**joint_goal()))
    state.goals[fields["goal_id"]] = {**fields, "achievement_status": "in-progress"}
    return str(fields["goal_id"])


def test_a_pausing_shift_names_the_joint_goals_to_hold_and_changes_nothing_itself():
    state = PlainState()
    goal_id = with_joint_goal(state)
    before = copy.deepcopy(state)
    fields = shift_rules.shift(state, ShiftFormat(**shift_fields()))
    assert (fields["pauses_joint"], fields["held_goals"]) == (True, [goal_id])
    assert fields["security_labels"] == ["R", "SDV"]
    assert state == before


def test_resuming_needs_a_ready_decision_recorded_after_the_pause():
    state = PlainState(joint_paused=True)
    with pytest.raises(Conflict):
        shift_rules.shift(state, ShiftFormat(**resume()))
    state.readiness.append({"ready": True})
    assert shift_rules.shift(state, ShiftFormat(**resume()))["resumes_joint"] is True


def test_a_joint_goal_added_during_a_pause_starts_on_hold():
    fields = goal_rules.added(PlainState(joint_paused=True), AddGoal(**joint_goal()))
    assert (fields["lifecycle_status"], fields["held_status"]) == ("on-hold", "active")


def test_a_schedule_change_that_changes_nothing_is_refused():
    with pytest.raises(RuleBroken) as broken:
        lifecycle.schedule_change(PlainState(), ChangeSchedule(cadence_weeks=4))
    assert "body" in broken.value.extra["errors"]


def test_the_plain_state_is_a_plan_state():
    state: PlanState = PlainState()  # mypy and the rules read it as they read `Plan`
    assert lifecycle.schedule_change(state, ChangeSchedule(cadence_weeks=2))["cadence_weeks"] == 2
