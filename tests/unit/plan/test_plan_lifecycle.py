"""A plan is created for a client unit and moves through the FHIR CarePlan statuses."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import pytest

from services.common.context import CommandContext
from services.common.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    RuleBroken,
    StaleVersion,
)
from services.plan.application import PlanApplication
from services.plan.domain.commands import AddGoal, ChangeSchedule, ChangeStatus, CreatePlan
from tests.unit.plan.support_builders import ALEX, TENANT, couple_plan_fields, joint_goal


def test_a_new_plan_is_a_draft_for_its_client_unit(app: PlanApplication, ctx: CommandContext):
    created = app.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields()))
    plan = app.get_plan(UUID(created["plan_id"]), tenant=TENANT)
    assert plan["status"] == "draft"
    assert [m["client_id"] for m in plan["members"]] == [ALEX, "client-sam"]
    assert plan["next_review_on"].isoformat() == "2026-02-02"  # 4 weeks after the start
    assert created["version"] == 1


def test_one_therapist_may_hold_both_the_joint_and_the_individual_role(
    app: PlanApplication, ctx: CommandContext
):
    clinicians = [{"clinician_id": "c1", "roles": ["couples-therapist", "individual-therapist"]}]
    created = app.create_plan(
        ctx=ctx, command=CreatePlan(**couple_plan_fields(clinicians=clinicians))
    )
    assert app.get_plan(UUID(created["plan_id"]), tenant=TENANT)["clinicians"] == clinicians


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"members": [{"client_id": ALEX}]}, "members"),
        ({"members": [{"client_id": ALEX}, {"client_id": ALEX}]}, "members"),
        ({"unit_kind": "tribe"}, "unit_kind"),
        ({"clinicians": []}, "clinicians"),
        ({"clinicians": [{"clinician_id": "c", "roles": ["wizard"]}]}, "clinicians[0].roles"),
        ({"clinicians": [{"clinician_id": "c", "roles": ["care-coordinator"]}]}, "clinicians"),
        ({"mix": {"family": 2}}, "mix.family"),
        ({"mix": {"joint": 0}}, "mix"),
        ({"cadence_weeks": 0}, "cadence_weeks"),
        ({"members": [{"client_id": ALEX, "sex": "x"}, {"client_id": "b"}]}, "members[0].sex"),
    ],
)
def test_a_plan_with_bad_input_is_refused_naming_the_field(
    app: PlanApplication, ctx: CommandContext, overrides: dict[str, object], field: str
):
    with pytest.raises(RuleBroken) as broken:
        app.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields(**overrides)))
    assert field in broken.value.extra["errors"]


def test_a_family_plan_and_an_individual_plan_take_their_own_members(
    app: PlanApplication, ctx: CommandContext
):
    family = couple_plan_fields(
        unit_kind="family",
        members=[{"client_id": c} for c in ("p1", "p2", "kid")],
        clinicians=[{"clinician_id": "f", "roles": ["family-therapist"]}],
        mix={"family": 2},
    )
    single = couple_plan_fields(
        unit_kind="individual",
        members=[{"client_id": "solo"}],
        clinicians=[{"clinician_id": "i", "roles": ["individual-therapist"]}],
        mix={"individual": 4},
    )
    assert app.create_plan(ctx=ctx, command=CreatePlan(**family))["version"] == 1
    assert app.create_plan(ctx=ctx, command=CreatePlan(**single))["version"] == 1


@pytest.mark.parametrize(
    "path",
    [
        ["active", "on-hold", "active", "completed"],
        ["active", "revoked"],
        ["revoked"],
        ["active", "entered-in-error"],
        ["active", "completed", "entered-in-error"],
    ],
)
def test_a_plan_follows_the_allowed_status_paths(
    app: PlanApplication, ctx: CommandContext, path: list[str]
):
    pid = UUID(app.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields()))["plan_id"])
    for status in path:
        app.change_status(ctx=ctx, plan_id=pid, command=ChangeStatus(status=status))
    assert app.get_plan(pid, tenant=TENANT)["status"] == path[-1]


def test_an_invalid_transition_names_the_allowed_ones(app: PlanApplication, ctx: CommandContext):
    pid = UUID(app.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields()))["plan_id"])
    with pytest.raises(InvalidTransition) as refused:
        app.change_status(ctx=ctx, plan_id=pid, command=ChangeStatus(status="completed"))
    assert refused.value.status == 409
    assert refused.value.extra["allowed"] == ["active", "entered-in-error", "revoked"]


def test_a_completed_plan_takes_no_more_goals(app: PlanApplication, ctx: CommandContext, plan_id):
    app.change_status(ctx=ctx, plan_id=plan_id, command=ChangeStatus(status="completed"))
    with pytest.raises(Conflict):
        app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))


def test_a_stale_if_match_version_is_refused(app: PlanApplication, ctx: CommandContext, plan_id):
    with pytest.raises(StaleVersion):
        app.change_status(
            ctx=ctx, plan_id=plan_id, command=ChangeStatus(status="on-hold"), expected_version=1
        )
    assert (
        app.change_status(
            ctx=ctx, plan_id=plan_id, command=ChangeStatus(status="on-hold"), expected_version=2
        )["version"]
        == 3
    )


def test_another_practice_cannot_see_the_plan(app: PlanApplication, plan_id: UUID):
    with pytest.raises(NotFound):
        app.get_plan(plan_id, tenant="practice-2")
    other = CommandContext(actor_id="x", actor_role="clinician", tenant="practice-2")
    with pytest.raises(NotFound):
        app.change_status(ctx=other, plan_id=plan_id, command=ChangeStatus(status="on-hold"))


def test_the_schedule_can_change_cadence_interval_and_next_review(app, ctx, plan_id):
    app.change_schedule(
        ctx=ctx,
        plan_id=plan_id,
        command=ChangeSchedule(cadence_weeks=2, next_review_on=dt.date(2026, 1, 20)),
    )
    plan = app.get_plan(plan_id, tenant=TENANT)
    assert (plan["cadence_weeks"], plan["review_interval_weeks"]) == (2, 4)
    assert plan["next_review_on"] == dt.date(2026, 1, 20)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cadence_weeks": 0}, "cadence_weeks"),
        ({"review_interval_weeks": 27}, "review_interval_weeks"),
        ({}, "body"),
    ],
)
def test_a_schedule_change_with_bad_input_is_refused(app, ctx, plan_id, change, field):
    with pytest.raises(RuleBroken) as broken:
        app.change_schedule(ctx=ctx, plan_id=plan_id, command=ChangeSchedule(**change))
    assert field in broken.value.extra["errors"]
