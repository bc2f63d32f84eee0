"""Reviews every N weeks, the reviews-due list and the uneven-growth list."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import pytest

from services.common.errors import NotFound, RuleBroken
from services.plan.application import PlanApplication
from services.plan.domain.commands import (
    AddGoal,
    ChangeSchedule,
    ChangeStatus,
    CreatePlan,
    RecordReview,
    RecordSession,
    ShiftFormat,
)
from tests.unit.plan.support_builders import (
    ALEX,
    SAM,
    START,
    TENANT,
    couple_plan_fields,
    individual_session,
    joint_goal,
    joint_session,
    ready,
    resume,
    shift_fields,
)


def review(app, ctx, plan_id, goal_id: str, held_on: dt.date = dt.date(2026, 2, 2)) -> None:
    app.record_review(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordReview(
            held_on=held_on,
            goal_progress=[
                {
                    "goal_id": goal_id,
                    "achievement_status": "improving",
                    "note": "fewer shutdowns reported by both",
                }
            ],
            strategy_changes=["add a weekly check-in ritual"],
            next_mix={"joint": 3, "individual": 1},
        ),
    )


def test_a_review_records_progress_strategy_and_the_next_mix(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    review(app, ctx, plan_id, goal_id)
    plan = app.get_plan(plan_id, tenant=TENANT)
    assert plan["reviews"][0]["strategy_changes"] == ["add a weekly check-in ritual"]
    assert plan["mix"] == {"joint": 3, "individual": 1}
    assert plan["goals"][0]["achievement_status"] == "improving"
    assert plan["next_review_on"] == dt.date(2026, 3, 2)  # 4 weeks after the review


@pytest.mark.parametrize(
    ("progress", "field"),
    [
        ([{"goal_id": "?", "achievement_status": "improving"}], None),
        (
            [{"goal_id": "GOAL", "achievement_status": "great"}],
            "goal_progress[0].achievement_status",
        ),
    ],
)
def test_a_review_with_bad_progress_is_refused(app, ctx, plan_id, progress, field):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    progress = [{**p, "goal_id": goal_id if p["goal_id"] == "GOAL" else "?"} for p in progress]
    expected = RuleBroken if field else NotFound
    with pytest.raises(expected) as refused:
        app.record_review(
            ctx=ctx,
            plan_id=plan_id,
            command=RecordReview(held_on=START, goal_progress=progress, next_mix={"joint": 1}),
        )
    if field:
        assert field in refused.value.extra["errors"]


def test_a_review_during_a_pause_cannot_plan_joint_sessions(app, ctx, plan_id):
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    with pytest.raises(RuleBroken) as broken:
        app.record_review(
            ctx=ctx, plan_id=plan_id, command=RecordReview(held_on=START, next_mix={"joint": 1})
        )
    assert "next_mix" in broken.value.extra["errors"]


def test_reviews_due_lists_due_and_overdue_plans_earliest_first(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    later = UUID(
        app.create_plan(
            ctx=ctx, command=CreatePlan(**couple_plan_fields(starts_on=dt.date(2026, 1, 26)))
        )["plan_id"]
    )
    app.change_status(ctx=ctx, plan_id=later, command=ChangeStatus(status="active"))
    due = app.reviews_due(TENANT, today=dt.date(2026, 2, 20), within_days=7)
    assert [(r["plan_id"], r["overdue"]) for r in due] == [
        (str(plan_id), True),
        (str(later), False),
    ]
    assert due[0]["days_overdue"] == 18
    review(app, ctx, plan_id, goal_id, held_on=dt.date(2026, 2, 19))
    assert [r["plan_id"] for r in app.reviews_due(TENANT, today=dt.date(2026, 2, 20))] == [
        str(later)
    ]


def test_reviews_due_skips_draft_and_closed_plans_and_other_practices(app, ctx, plan_id):
    app.change_status(ctx=ctx, plan_id=plan_id, command=ChangeStatus(status="completed"))
    assert app.reviews_due(TENANT, today=dt.date(2027, 1, 1)) == []
    assert app.reviews_due("practice-2", today=dt.date(2027, 1, 1)) == []


def attend(app: PlanApplication, ctx, plan_id: UUID, partner: str, day: dt.date) -> None:
    app.record_session(
        ctx=ctx, plan_id=plan_id, command=RecordSession(**individual_session(partner, held_on=day))
    )


def test_one_partner_attending_alone_past_the_stretch_is_flagged(app, ctx, plan_id):
    app.record_session(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordSession(**joint_session(held_on=dt.date(2026, 1, 5))),
    )
    for week in range(8):
        attend(app, ctx, plan_id, ALEX, dt.date(2026, 1, 12) + dt.timedelta(weeks=week))
    flagged = app.uneven_growth(TENANT, today=dt.date(2026, 3, 2))
    assert [(r["plan_id"], r["partner_id"], r["weeks"]) for r in flagged] == [
        (str(plan_id), ALEX, 7)
    ]
    assert flagged[0]["last_joint_on"] == dt.date(2026, 1, 5)


def test_the_stretch_is_configurable_and_six_weeks_is_not_yet_too_long(app, ctx, plan_id):
    attend(app, ctx, plan_id, ALEX, dt.date(2026, 1, 12))
    assert app.uneven_growth(TENANT, today=dt.date(2026, 2, 23)) == []
    assert len(app.uneven_growth(TENANT, today=dt.date(2026, 2, 23), stretch_weeks=4)) == 1


def test_both_partners_attending_or_a_joint_session_clears_the_flag(app, ctx, plan_id):
    attend(app, ctx, plan_id, ALEX, dt.date(2026, 1, 12))
    attend(app, ctx, plan_id, SAM, dt.date(2026, 1, 19))
    assert app.uneven_growth(TENANT, today=dt.date(2026, 4, 1)) == []


def test_a_joint_session_resets_the_stretch(app, ctx, plan_id):
    attend(app, ctx, plan_id, ALEX, dt.date(2026, 1, 12))
    app.record_session(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordSession(**joint_session(held_on=dt.date(2026, 3, 1))),
    )
    assert app.uneven_growth(TENANT, today=dt.date(2026, 4, 1)) == []


def test_the_plan_summary_follows_pauses_schedules_and_goals(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    (paused,) = app.summaries(TENANT)
    assert (paused["joint_paused"], paused["goal_ids"]) == (True, [goal_id])
    ready(app, ctx, plan_id)
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**resume()))
    app.change_schedule(
        ctx=ctx, plan_id=plan_id, command=ChangeSchedule(next_review_on=dt.date(2026, 5, 1))
    )
    (resumed,) = app.summaries(TENANT)
    assert (resumed["joint_paused"], resumed["next_review_on"]) == (False, "2026-05-01")
    assert app.plan_with_goal(goal_id, TENANT).id == plan_id
    with pytest.raises(NotFound):
        app.plan_with_goal(goal_id, "practice-2")
