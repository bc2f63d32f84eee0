"""History with who, when and why; past states by version and time; referral reactions."""

from __future__ import annotations

import datetime as dt
import json
from uuid import UUID, uuid4

import pytest

from contracts.records import InboundRecord
from services.common.context import CommandContext
from services.common.errors import NotFound
from services.plan import reactions
from services.plan.domain import Plan
from services.plan.domain.commands import (
    AddGoal,
    AssignClinician,
    BreakGlass,
    ChangeClinicianRoles,
    ChangeGoalStatus,
    ChangeSchedule,
    ChangeStatus,
    RecordMeasurement,
    RecordReadiness,
    RecordReview,
    RecordSession,
    RemoveClinician,
    ResolveConfidence,
    ReviewBreakGlass,
    ReviseGoal,
    ShiftFormat,
)
from tests.unit.plan.support_builders import (
    SAM,
    TENANT,
    THERAPIST,
    agreement_view,
    individual_session,
    joint_goal,
    shift_fields,
)
from tests.unit.plan.support_contract_check import SCHEMAS, stored_bodies


def test_history_lists_every_event_with_who_when_and_why(app, ctx, plan_id):
    app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))
    history = app.history(plan_id, tenant=TENANT)
    assert [h["event"] for h in history] == ["PlanCreated", "PlanStatusChanged", "GoalAdded"]
    assert [h["version"] for h in history] == [1, 2, 3]
    meta = history[-1]["meta"]
    assert (meta["actor_id"], meta["actor_role"], meta["tenant"]) == (
        THERAPIST,
        "clinician",
        TENANT,
    )
    assert meta["correlation_id"] == ctx.correlation_id
    assert history[-1]["type"] == "careledger.plan.GoalAdded.v1"
    assert isinstance(history[-1]["timestamp"], dt.datetime)


def test_a_past_version_reproduces_the_old_state(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    app.revise_goal(ctx=ctx, plan_id=plan_id, command=ReviseGoal(goal_id=goal_id, target=3))
    assert app.get_plan(plan_id, tenant=TENANT, version=3)["goals"][0]["target"] == 1.0
    assert app.get_plan(plan_id, tenant=TENANT, version=1)["status"] == "draft"
    assert app.get_plan(plan_id, tenant=TENANT)["goals"][0]["target"] == 3.0
    with pytest.raises(NotFound):
        app.get_plan(plan_id, tenant=TENANT, version=99)


def test_the_plan_as_it_was_at_a_time(app, ctx, plan_id):
    between = app.history(plan_id, tenant=TENANT)[-1]["timestamp"]
    app.change_status(ctx=ctx, plan_id=plan_id, command=ChangeStatus(status="on-hold"))
    assert app.get_plan(plan_id, tenant=TENANT, at=between)["status"] == "active"
    with pytest.raises(NotFound):
        app.get_plan(plan_id, tenant=TENANT, at=between - dt.timedelta(days=1))


def referral_record(plan_id: UUID, event: str, **body: object) -> InboundRecord:
    referral_id = str(uuid4())
    return InboundRecord(
        topic="careledger.referral",
        partition=0,
        offset=1,
        ce_id=f"{referral_id}:1",
        ce_type=f"careledger.referral.{event}.v1",
        subject=referral_id,
        tenant=TENANT,
        body={"id": referral_id, "plan_id": str(plan_id), **body},
    )


def system_ctx(record: InboundRecord) -> CommandContext:
    return CommandContext(actor_id="plan-consumer", actor_role="system", tenant=TENANT).caused_by(
        record.ce_id
    )


def test_referral_events_are_noted_on_the_plan_they_serve(app, plan_id):
    sent = referral_record(plan_id, "ReferralSent")
    done = referral_record(plan_id, "ReferralCompleted", outcome="engaged-in-care")
    done = InboundRecord(
        **{
            **done.__dict__,
            "subject": sent.subject,
            "ce_id": "r:5",
            "body": {**done.body, "id": sent.subject},
        }
    )
    for record in (sent, done):
        app.save_as(system_ctx(record), *reactions.react(app, record))
    referrals = app.get_plan(plan_id, tenant=TENANT)["referrals"]
    assert referrals == [
        {"referral_id": sent.subject, "stage": "completed", "outcome": "engaged-in-care"}
    ]
    assert app.history(plan_id, tenant=TENANT)[-1]["meta"]["causation_id"] == "r:5"


def test_a_referral_record_delivered_twice_is_noted_once(app, plan_id):
    record = referral_record(plan_id, "ReferralAccepted")
    app.save_as(system_ctx(record), *reactions.react(app, record))
    assert reactions.react(app, record) == []
    noted = [h for h in app.history(plan_id, tenant=TENANT) if h["event"] == "ReferralNoted"]
    assert len(noted) == 1


@pytest.mark.parametrize(
    "record",
    [
        referral_record(uuid4(), "ReferralSent"),
        referral_record(uuid4(), "ReferralDrafted"),
        InboundRecord(
            "careledger.referral",
            0,
            1,
            "x",
            "careledger.referral.ReferralSent.v1",
            "s",
            TENANT,
            {"plan_id": "not-a-uuid"},
        ),
    ],
)
def test_referral_records_for_no_known_plan_are_ignored(app, plan_id, record):
    assert reactions.react(app, record) == []


def test_a_referral_for_another_practices_plan_is_ignored(app, plan_id):
    record = referral_record(plan_id, "ReferralSent")
    other = InboundRecord(**{**record.__dict__, "tenant": "practice-2"})
    assert reactions.react(app, other) == []


def test_every_plan_event_type_has_a_contract_and_a_scenario_produces_each(app, ctx, plan_id):
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**joint_goal()))["goal_id"]
    app.revise_goal(
        ctx=ctx, plan_id=plan_id, command=ReviseGoal(goal_id=goal_id, description="fewer shutdowns")
    )
    app.change_schedule(ctx=ctx, plan_id=plan_id, command=ChangeSchedule(cadence_weeks=2))
    app.change_goal_status(
        ctx=ctx, plan_id=plan_id, command=ChangeGoalStatus(goal_id=goal_id, status="on-hold")
    )
    app.record_measurement(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordMeasurement(
            partner_id="client-sam",
            measure="audit-c",
            items=[2, 1, 1],
            taken_on=dt.date(2026, 1, 9),
        ),
    )
    app.agreements.put(TENANT, agreement_view("limited-secrets"))  # type: ignore[attr-defined]
    held = individual_session(share_by=dt.date(2026, 2, 9))
    session_id = app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**held))[
        "session_id"
    ]
    app.resolve_confidence(
        ctx=ctx,
        plan_id=plan_id,
        command=ResolveConfidence(
            session_id=session_id, outcome="shared", resolved_on=dt.date(2026, 2, 2)
        ),
    )
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields()))
    app.record_readiness(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordReadiness(
            ready=True,
            criteria=["safety plan"],
            decided_by=THERAPIST,
            decided_on=dt.date(2026, 2, 20),
        ),
    )
    app.record_review(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordReview(held_on=dt.date(2026, 2, 2), next_mix={"individual": 2}),
    )
    team = {"reason": "caseload-change"}
    app.assign_clinician(
        ctx=ctx,
        plan_id=plan_id,
        command=AssignClinician(clinician_id="clin-new", roles=["care-coordinator"], **team),
    )
    app.change_clinician_roles(
        ctx=ctx,
        plan_id=plan_id,
        command=ChangeClinicianRoles(
            clinician_id="clin-new", roles=["individual-therapist"], clients=[SAM], **team
        ),
    )
    app.remove_clinician(
        ctx=ctx, plan_id=plan_id, command=RemoveClinician(clinician_id="clin-new", **team)
    )
    outsider = CommandContext(actor_id="clin-er", actor_role="clinician", tenant=TENANT)
    grant = app.break_glass(
        ctx=outsider, plan_id=plan_id, command=BreakGlass(justification="seen in the ER tonight")
    )
    compliance = CommandContext(actor_id="comp-1", actor_role="compliance", tenant=TENANT)
    app.review_break_glass(
        ctx=compliance,
        plan_id=plan_id,
        command=ReviewBreakGlass(grant_id=grant["grant_id"], finding="justified"),
    )
    record = referral_record(plan_id, "ReferralSent")
    app.save_as(system_ctx(record), *reactions.react(app, record))
    produced = {name for name, _ in stored_bodies(app)}
    named = {
        name
        for name, v in vars(Plan).items()
        if isinstance(v, type) and name not in ("Event", "Created")
    }
    contracts = {p.name.removesuffix(".v1.json") for p in SCHEMAS.glob("*.v1.json")}
    assert produced == named == contracts
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        assert schema["additionalProperties"] is False
        # every field always present; a coded one is left out when it holds no known code
        withdrawn = set(schema.get("x-withdrawn", ()))
        assert set(schema["required"]) == set(schema["properties"]) - withdrawn
