"""Goals: added with a measure, unit, baseline, target, due date and partners; revised; moved."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, InvalidTransition, NotFound, RuleBroken
from services.plan.application import PlanApplication
from services.plan.domain.commands import AddGoal, ChangeGoalStatus, ReviseGoal
from tests.unit.plan.support_builders import ALEX, SAM, TENANT, joint_goal


def goal_of(app: PlanApplication, plan_id: UUID, goal_id: str) -> dict[str, Any]:
    goals = app.get_plan(plan_id, tenant=TENANT)["goals"]
    return next(g for g in goals if g["goal_id"] == goal_id)


@pytest.mark.parametrize(
    "goal",
    [
        joint_goal(),
        joint_goal(
            description="use a pause card during conflict twice per week",
            measure="pause card uses",
            unit="per week",
            baseline=0,
            target=2,
            partners=[SAM],
        ),
        joint_goal(
            description="schedule one hour of shared time",
            measure="shared time",
            unit="hours per week",
            baseline=0,
            target=1,
        ),
        joint_goal(
            description="faster repair after a fight",
            measure="repair-time",
            unit="h",
            baseline=48,
            target=4,
        ),
    ],
)
def test_the_example_goals_can_be_expressed(
    app: PlanApplication, ctx: CommandContext, plan_id: UUID, goal: dict[str, Any]
):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**goal))["goal_id"]
    stored = goal_of(app, plan_id, goal_id)
    assert stored["description"] == goal["description"]
    assert stored["target"] == goal["target"]
    assert stored["achievement_status"] == "in-progress"
    assert stored["joint"] == (len(goal["partners"]) > 1)


def test_a_goal_starts_proposed_unless_told_otherwise(app, ctx, plan_id):
    goal = joint_goal()
    del goal["status"]
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**goal))["goal_id"]
    assert goal_of(app, plan_id, goal_id)["lifecycle_status"] == "proposed"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"target": 7}, "target"),
        ({"target": "weekly"}, "target"),
        ({"partners": []}, "partners"),
        ({"partners": ["stranger"]}, "partners[0]"),
        ({"description": "  "}, "description"),
        ({"unit": ""}, "unit"),
        ({"measure": "phq-9", "baseline": 12, "target": 30}, "target"),
        ({"status": "completed"}, "status"),
    ],
)
def test_a_goal_with_bad_input_is_refused_naming_the_field(
    app, ctx, plan_id, overrides: dict[str, Any], field: str
):
    with pytest.raises(RuleBroken) as broken:
        app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal(**overrides)))
    assert field in broken.value.extra["errors"]


def test_a_goal_can_be_revised(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    app.revise_goal(
        ctx=ctx,
        plan_id=plan_id,
        command=ReviseGoal(goal_id=goal_id, target=2, due_on=dt.date(2026, 7, 1)),
    )
    revised = goal_of(app, plan_id, goal_id)
    assert (revised["target"], revised["due_on"]) == (2.0, dt.date(2026, 7, 1))
    assert revised["baseline"] == 7.0


def test_a_revision_that_changes_nothing_is_refused(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    with pytest.raises(RuleBroken):
        app.revise_goal(ctx=ctx, plan_id=plan_id, command=ReviseGoal(goal_id=goal_id, target=1))


def test_a_revision_may_not_make_target_equal_baseline(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    with pytest.raises(RuleBroken) as broken:
        app.revise_goal(ctx=ctx, plan_id=plan_id, command=ReviseGoal(goal_id=goal_id, baseline=1))
    assert "target" in broken.value.extra["errors"]


def test_an_unknown_goal_is_not_found(app, ctx, plan_id):
    with pytest.raises(NotFound):
        app.change_goal_status(
            ctx=ctx, plan_id=plan_id, command=ChangeGoalStatus(goal_id="nope", status="active")
        )


def test_a_goal_follows_its_lifecycle(app, ctx, plan_id):
    goal = joint_goal(status="proposed")
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**goal))["goal_id"]
    for status in ("accepted", "active", "on-hold", "active", "completed"):
        app.change_goal_status(
            ctx=ctx, plan_id=plan_id, command=ChangeGoalStatus(goal_id=goal_id, status=status)
        )
    assert goal_of(app, plan_id, goal_id)["lifecycle_status"] == "completed"


def test_a_goal_cannot_skip_to_an_unlisted_status(app, ctx, plan_id):
    goal_id = app.add_goal(
        ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal(status="proposed"))
    )["goal_id"]
    with pytest.raises(InvalidTransition) as refused:
        app.change_goal_status(
            ctx=ctx, plan_id=plan_id, command=ChangeGoalStatus(goal_id=goal_id, status="completed")
        )
    assert "accepted" in refused.value.extra["allowed"]


def test_a_completed_goal_takes_no_revision(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    app.change_goal_status(
        ctx=ctx, plan_id=plan_id, command=ChangeGoalStatus(goal_id=goal_id, status="completed")
    )
    with pytest.raises(Conflict):
        app.revise_goal(ctx=ctx, plan_id=plan_id, command=ReviseGoal(goal_id=goal_id, target=2))


def test_a_goal_belongs_to_one_partner_or_both(app, ctx, plan_id):
    goal_id = app.add_goal(
        ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal(partners=[ALEX]))
    )["goal_id"]
    assert goal_of(app, plan_id, goal_id)["partners"] == [ALEX]
