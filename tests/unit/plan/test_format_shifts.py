"""Format shifts: coded reasons, pausing joint work, readiness to resume and who may see why."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import pytest

from services.common.errors import Conflict, RuleBroken
from services.plan.application import PlanApplication
from services.plan.domain.commands import (
    AddGoal,
    ChangeGoalStatus,
    CreatePlan,
    RecordSession,
    ReviseGoal,
    ShiftFormat,
)
from services.plan.domain.policy import Kind, Reader
from tests.unit.plan.support_builders import (
    ALEX,
    SAM,
    TENANT,
    THERAPIST,
    couple_plan_fields,
    joint_goal,
    joint_session,
    ready,
    resume,
    shift_fields,
)


def client(client_id: str) -> Reader:
    """What the partner `client_id` may see (no consent decision for the other partner)."""
    return Reader(Kind.CLIENT, frozenset({client_id}))


def plan_of(app: PlanApplication, plan_id: UUID, acting_for: str | None = None) -> dict[str, Any]:
    if acting_for is None:
        return app.get_plan(plan_id, tenant=TENANT)
    return app.get_plan(plan_id, tenant=TENANT, reader=client(acting_for))


def test_a_shift_for_coercive_control_pauses_joint_work_and_holds_joint_goals(app, ctx, plan_id):
    joint = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    own = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal(partners=[SAM])))[
        "goal_id"
    ]
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    plan = plan_of(app, plan_id)
    goals = {g["goal_id"]: g for g in plan["goals"]}
    assert plan["joint_paused"] is True
    assert plan["mix"] == {"joint": 0, "individual": 4}
    assert (goals[joint]["lifecycle_status"], goals[joint]["held_by_pause"]) == ("on-hold", True)
    assert goals[own]["lifecycle_status"] == "active"


def test_a_shift_event_carries_the_reason_sensitivity_labels(app, ctx, plan_id):
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    body = app.history(plan_id, tenant=TENANT)[-1]["body"]
    assert body["security_labels"] == ["R", "SDV"]
    app.shift_format(
        ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields(reason="substance-use"))
    )
    assert app.history(plan_id, tenant=TENANT)[-1]["body"]["security_labels"] == ["ETH", "R"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": "bored"}, "reason"),
        ({"rationale": ""}, "rationale"),
        ({"review_on": dt.date(2026, 1, 1)}, "review_on"),
        ({"mix": {"joint": 1, "individual": 2}}, "mix"),
        ({"decided_by": "a-stranger"}, "decided_by"),
        ({"about_partner_id": "a-stranger"}, "about_partner_id"),
    ],
)
def test_a_shift_with_bad_input_is_refused_naming_the_field(app, ctx, plan_id, overrides, field):
    with pytest.raises(RuleBroken) as broken:
        app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields(**overrides)))
    assert field in broken.value.extra["errors"]


def test_no_joint_session_is_recorded_while_joint_work_is_paused(app, ctx, plan_id):
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    with pytest.raises(Conflict):
        app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**joint_session()))


def test_a_held_joint_goal_cannot_be_reactivated_during_the_pause(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    with pytest.raises(Conflict):
        app.change_goal_status(
            ctx=ctx, plan_id=plan_id, command=ChangeGoalStatus(goal_id=goal_id, status="active")
        )


def test_a_joint_goal_added_during_the_pause_starts_on_hold(app, ctx, plan_id):
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    goal = next(g for g in plan_of(app, plan_id)["goals"] if g["goal_id"] == goal_id)
    assert goal["lifecycle_status"] == "on-hold"


def test_resuming_joint_work_needs_a_recorded_readiness_decision(app, ctx, plan_id):
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    with pytest.raises(Conflict) as refused:
        app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**resume()))
    assert "readiness decision" in refused.value.detail
    ready(app, ctx, plan_id, is_ready=False)
    with pytest.raises(Conflict):
        app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**resume()))


def test_resuming_after_a_ready_decision_gives_joint_goals_back(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    ready(app, ctx, plan_id)
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**resume()))
    plan = plan_of(app, plan_id)
    goal = next(g for g in plan["goals"] if g["goal_id"] == goal_id)
    assert plan["joint_paused"] is False
    assert (goal["lifecycle_status"], goal["held_by_pause"]) == ("active", False)
    app.record_session(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordSession(**joint_session(held_on=dt.date(2026, 3, 2))),
    )


def test_a_readiness_decision_from_before_a_new_pause_does_not_count(app, ctx, plan_id):
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    ready(app, ctx, plan_id)
    app.shift_format(
        ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields(reason="cool-down"))
    )
    with pytest.raises(Conflict):
        app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**resume()))


def test_resuming_is_refused_when_joint_work_is_not_paused(app, ctx, plan_id):
    with pytest.raises(Conflict):
        app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**resume()))
    with pytest.raises(Conflict):
        ready(app, ctx, plan_id)


def test_the_rationale_is_never_shown_to_the_other_partner(app, ctx, plan_id):
    app.shift_format(
        ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields(about_partner_id=ALEX))
    )
    for_sam = plan_of(app, plan_id, acting_for=SAM)
    shown = for_sam["format_shifts"][0]
    assert "reason" not in shown and "rationale" not in shown
    assert shown["redacted"] == ["rationale", "reason", "security_labels"]
    assert "SDV" not in for_sam["security_labels"]
    history = app.history(plan_id, tenant=TENANT, reader=client(SAM))[-1]["body"]
    assert "rationale" not in history and "reason" not in history
    assert "monitoring" not in repr(for_sam) + repr(history)


def test_the_partner_the_shift_concerns_and_clinicians_see_the_rationale(app, ctx, plan_id):
    app.shift_format(
        ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields(about_partner_id=ALEX))
    )
    assert plan_of(app, plan_id, acting_for=ALEX)["format_shifts"][0]["reason"] == (
        "coercive-control"
    )
    staff = plan_of(app, plan_id)
    assert staff["format_shifts"][0]["rationale"].startswith("disclosed")
    assert "SDV" in staff["security_labels"]


def test_a_shift_about_no_one_partner_is_hidden_from_both(app, ctx, plan_id):
    app.shift_format(
        ctx=ctx,
        plan_id=plan_id,
        command=ShiftFormat(**shift_fields(reason="cool-down", about_partner_id=None)),
    )
    for partner in (ALEX, SAM):
        shown = plan_of(app, plan_id, acting_for=partner)["format_shifts"][0]
        assert "rationale" not in shown and "reason" not in shown


def test_a_one_partner_goal_cannot_become_joint_and_active_during_the_pause(app, ctx, plan_id):
    goal_id = app.add_goal(
        ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal(partners=[ALEX]))
    )["goal_id"]
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    with pytest.raises(Conflict):
        app.revise_goal(
            ctx=ctx, plan_id=plan_id, command=ReviseGoal(goal_id=goal_id, partners=[ALEX, SAM])
        )
    app.change_goal_status(
        ctx=ctx, plan_id=plan_id, command=ChangeGoalStatus(goal_id=goal_id, status="on-hold")
    )
    app.revise_goal(
        ctx=ctx, plan_id=plan_id, command=ReviseGoal(goal_id=goal_id, partners=[ALEX, SAM])
    )


def test_a_manually_held_goal_stays_on_hold_when_joint_work_resumes(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    app.change_goal_status(
        ctx=ctx, plan_id=plan_id, command=ChangeGoalStatus(goal_id=goal_id, status="on-hold")
    )
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    ready(app, ctx, plan_id)
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**resume()))
    goal = next(g for g in plan_of(app, plan_id)["goals"] if g["goal_id"] == goal_id)
    assert goal["lifecycle_status"] == "on-hold"


def test_an_individual_plan_has_no_joint_work_to_shift(app, ctx):
    fields = couple_plan_fields(
        unit_kind="individual",
        members=[{"client_id": "solo"}],
        mix={"individual": 4},
        clinicians=[{"clinician_id": THERAPIST, "roles": ["individual-therapist"]}],
    )
    pid = UUID(app.create_plan(ctx=ctx, command=CreatePlan(**fields))["plan_id"])
    with pytest.raises(RuleBroken) as broken:
        app.shift_format(
            ctx=ctx, plan_id=pid, command=ShiftFormat(**shift_fields(about_partner_id=None))
        )
    assert "reason" in broken.value.extra["errors"]
