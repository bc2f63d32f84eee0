"""Measurements per partner: range checks, scoring, interpretation, alerts and achievement."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import pytest

from services.common.context import CommandContext
from services.common.errors import RuleBroken
from services.plan.application import PlanApplication
from services.plan.domain.commands import AddGoal, RecordMeasurement
from tests.unit.plan.support_builders import ALEX, SAM, TENANT, joint_goal, phq9

DAY = dt.date(2026, 1, 12)


def measure(app: PlanApplication, ctx: CommandContext, plan_id: UUID, **fields: Any) -> Any:
    fields.setdefault("partner_id", ALEX)
    fields.setdefault("taken_on", DAY)
    return app.record_measurement(ctx=ctx, plan_id=plan_id, command=RecordMeasurement(**fields))


def last_measurement(app: PlanApplication, plan_id: UUID) -> dict[str, Any]:
    return app.get_plan(plan_id, tenant=TENANT)["measurements"][-1]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("measure_code", "value"),
    [
        ("connection", 6),
        ("trust", 0),
        ("closeness", 10),
        ("fight-duration", 45),
        ("repair-time", 12),
        ("disconnection-days", 3),
    ],
)
def test_self_ratings_and_conflict_measures_are_recorded(app, ctx, plan_id, measure_code, value):
    measure(app, ctx, plan_id, measure=measure_code, value=value)
    assert last_measurement(app, plan_id)["value"] == value


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"measure": "trust", "value": 11}, "value"),
        ({"measure": "disconnection-days", "value": 8}, "value"),
        ({"measure": "phq-9", "value": 30, "items": phq9()}, "value"),
        ({"measure": "phq-9", "value": 30}, "value"),
        ({"measure": "phq-9", "value": 12}, "items"),
        ({"measure": "phq-9", "items": [1] * 8}, "items"),
        ({"measure": "phq-9", "items": [1] * 8 + [4]}, "items[8]"),
        ({"measure": "gad-7", "items": [0, 0, 0, 0, 0, 0, 9]}, "items[6]"),
        ({"measure": "audit-c", "value": 13}, "value"),
        ({"measure": "csi-4", "items": [7, 0, 0, 0]}, "items[0]"),
        ({"measure": "csi-16", "value": 82}, "value"),
        ({"measure": "mood-ring", "value": 1}, "measure"),
        ({"measure": "trust"}, "value"),
        ({"measure": "trust", "items": [1, 2]}, "items"),
        ({"measure": "trust", "value": 5, "partner_id": "stranger"}, "partner_id"),
    ],
)
def test_an_out_of_range_measurement_is_refused_naming_the_field(app, ctx, plan_id, fields, field):
    with pytest.raises(RuleBroken) as broken:
        measure(app, ctx, plan_id, **fields)
    assert field in broken.value.extra["errors"]


def test_phq9_is_scored_from_its_items_with_severity(app, ctx, plan_id):
    measure(app, ctx, plan_id, measure="phq-9", items=[2, 2, 2, 2, 2, 1, 1, 0, 0])
    recorded = last_measurement(app, plan_id)
    assert recorded["value"] == 12
    assert recorded["interpretation"]["severity"] == "moderate"


def test_a_phq9_total_that_does_not_match_its_items_is_refused(app, ctx, plan_id):
    with pytest.raises(RuleBroken) as broken:
        measure(app, ctx, plan_id, measure="phq-9", items=phq9(), value=9)
    assert "value" in broken.value.extra["errors"]


def test_phq9_item_9_above_zero_raises_a_risk_alert(app, ctx, plan_id):
    result = measure(app, ctx, plan_id, measure="phq-9", items=phq9(total_item9=1))
    assert result["alerts"] == ["phq9-item9-positive"]
    alert = app.get_plan(plan_id, tenant=TENANT)["alerts"][0]
    assert (alert["kind"], alert["partner_id"]) == ("phq9-item9-positive", ALEX)


def test_phq9_item_9_of_zero_raises_no_alert(app, ctx, plan_id):
    assert measure(app, ctx, plan_id, measure="phq-9", items=phq9())["alerts"] == []


def test_a_50_percent_phq9_drop_is_a_response_and_below_5_a_remission(app, ctx, plan_id):
    measure(app, ctx, plan_id, measure="phq-9", items=[2] * 8 + [0])  # 16
    measure(app, ctx, plan_id, measure="phq-9", items=[1] * 8 + [0], taken_on=DAY.replace(day=26))
    mid = last_measurement(app, plan_id)["interpretation"]
    assert (mid["response"], mid["remission"]) == (True, False)
    measure(app, ctx, plan_id, measure="phq-9", items=[0] * 9, taken_on=DAY.replace(day=30))
    late = last_measurement(app, plan_id)["interpretation"]
    assert (late["response"], late["remission"]) == (True, True)


@pytest.mark.parametrize(
    ("partner", "score", "positive"),
    [(SAM, 4, True), (SAM, 3, False), (ALEX, 3, True), (ALEX, 2, False)],
)
def test_audit_c_is_positive_at_4_for_men_and_3_for_women(
    app, ctx, plan_id, partner, score, positive
):
    result = measure(app, ctx, plan_id, partner_id=partner, measure="audit-c", value=score)
    assert last_measurement(app, plan_id)["interpretation"]["positive"] is positive
    assert ("audit-c-positive" in result["alerts"]) is positive


@pytest.mark.parametrize(
    ("code", "items", "distress"),
    [
        ("csi-4", [3, 3, 3, 4], True),
        ("csi-4", [5, 4, 3, 2], False),
        ("csi-16", [3] * 16, True),
        ("csi-16", [4] * 16, False),
    ],
)
def test_csi_below_its_cut_off_suggests_relationship_distress(
    app, ctx, plan_id, code, items, distress
):
    measure(app, ctx, plan_id, measure=code, items=items)
    assert last_measurement(app, plan_id)["interpretation"]["distress"] is distress


def test_a_worsening_beyond_the_instrument_threshold_raises_an_alert(app, ctx, plan_id):
    measure(app, ctx, plan_id, measure="gad-7", items=[1] * 7)
    later = DAY + dt.timedelta(days=14)
    small = measure(app, ctx, plan_id, measure="gad-7", items=[1] * 6 + [3], taken_on=later)
    assert small["alerts"] == []
    worse = measure(
        app,
        ctx,
        plan_id,
        measure="gad-7",
        items=[2] * 6 + [3],
        taken_on=later + dt.timedelta(days=7),
    )
    assert worse["alerts"] == ["worsening"]


def test_a_falling_csi_score_is_a_worsening(app, ctx, plan_id):
    measure(app, ctx, plan_id, measure="csi-4", value=18)
    worse = measure(app, ctx, plan_id, measure="csi-4", value=12, taken_on=DAY.replace(day=20))
    assert worse["alerts"] == ["worsening"]


def goal_status(app: PlanApplication, plan_id: UUID, goal_id: str) -> str:
    goals = app.get_plan(plan_id, tenant=TENANT)["goals"]
    return str(next(g for g in goals if g["goal_id"] == goal_id)["achievement_status"])


def test_achievement_follows_the_trajectory_of_the_goal_measure(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))[
        "goal_id"
    ]  # 7 -> 1 per week

    def observe(partner: str, value: float, day: int) -> str:
        measure(
            app,
            ctx,
            plan_id,
            partner_id=partner,
            goal_id=goal_id,
            value=value,
            taken_on=dt.date(2026, 2, day),
        )
        return goal_status(app, plan_id, goal_id)

    assert observe(ALEX, 5, 1) == "improving"
    assert observe(SAM, 7, 1) == "no-change"  # SAM was counted at the baseline already
    assert observe(SAM, 7, 8) == "no-change"
    assert observe(ALEX, 6, 8) == "worsening"
    assert observe(ALEX, 1, 15) == "improving"  # SAM has not reached the target yet
    assert observe(SAM, 1, 15) == "achieved"
    assert observe(SAM, 0, 22) == "sustaining"
    assert observe(ALEX, 3, 22) == "worsening"


def test_a_goal_on_a_known_measure_follows_that_measure(app, ctx, plan_id):
    goal = joint_goal(measure="trust", unit="score", baseline=3, target=7, partners=[ALEX])
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**goal))["goal_id"]
    measure(app, ctx, plan_id, measure="trust", value=5)
    assert goal_status(app, plan_id, goal_id) == "improving"
    measure(app, ctx, plan_id, measure="trust", value=8, taken_on=DAY.replace(day=19))
    assert goal_status(app, plan_id, goal_id) == "achieved"


def test_a_goal_measurement_must_be_for_a_partner_of_the_goal(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal(partners=[SAM])))[
        "goal_id"
    ]
    with pytest.raises(RuleBroken) as broken:
        measure(app, ctx, plan_id, partner_id=ALEX, goal_id=goal_id, value=3)
    assert "partner_id" in broken.value.extra["errors"]


def test_a_negative_goal_measurement_is_refused(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    with pytest.raises(RuleBroken):
        measure(app, ctx, plan_id, goal_id=goal_id, value=-1)


def test_measurement_events_carry_the_instrument_labels(app, ctx, plan_id):
    measure(app, ctx, plan_id, partner_id=SAM, measure="audit-c", value=6)
    events = {r["event"]: r["body"] for r in app.history(plan_id, tenant=TENANT)}
    assert events["MeasurementRecorded"]["security_labels"] == ["ETH"]
    assert events["AlertRaised"]["security_labels"] == ["ETH", "R"]


@pytest.mark.parametrize(
    ("code", "items", "severity"),
    [
        ("phq-9", [0] * 9, "minimal"),
        ("phq-9", [1] * 5 + [0] * 4, "mild"),
        ("phq-9", [2] * 8 + [0], "moderately-severe"),
        ("phq-9", [3] * 7 + [0, 0], "severe"),
        ("gad-7", [1] * 7, "mild"),
        ("gad-7", [2] * 5 + [0, 0], "moderate"),
        ("gad-7", [3] * 5 + [0, 0], "severe"),
    ],
)
def test_phq9_and_gad7_scores_fall_in_their_severity_bands(
    app, ctx, plan_id, code, items, severity
):
    measure(app, ctx, plan_id, measure=code, items=items)
    assert last_measurement(app, plan_id)["interpretation"]["severity"] == severity


def test_a_measurement_names_a_measure_or_a_goal(app, ctx, plan_id):
    with pytest.raises(RuleBroken) as broken:
        measure(app, ctx, plan_id, value=3)
    assert "measure" in broken.value.extra["errors"]


def test_a_goal_measurement_must_use_the_goal_measure(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    with pytest.raises(RuleBroken) as broken:
        measure(app, ctx, plan_id, goal_id=goal_id, measure="trust", value=3)
    assert "measure" in broken.value.extra["errors"]
