"""Sessions: format, partner, modality, check-ins, focus issues, homework and the agreement."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, RuleBroken
from services.plan.application import PlanApplication
from services.plan.domain.commands import ChangeStatus, CreatePlan, RecordSession
from tests.unit.plan.support_builders import (
    AGREEMENT,
    ALEX,
    SAM,
    TENANT,
    THERAPIST,
    couple_plan_fields,
    individual_session,
    joint_session,
)

DAY = dt.date(2026, 1, 12)


def sessions_of(app: PlanApplication, plan_id: UUID) -> list[dict[str, Any]]:
    return app.get_plan(plan_id, tenant=TENANT)["sessions"]  # type: ignore[no-any-return]


def test_a_joint_session_records_check_ins_focus_and_homework(app, ctx, plan_id):
    app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**joint_session()))
    session = sessions_of(app, plan_id)[0]
    assert session["attendees"] == [ALEX, SAM]
    assert session["check_ins"][0] == {
        "partner_id": ALEX,
        "mood": 6.0,
        "triggers": ["late reply to texts"],
    }
    assert session["homework"] == ["pause card twice this week"]


def test_an_individual_session_records_the_partner_and_the_sharing_agreement(app, ctx, plan_id):
    app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**individual_session(SAM)))
    session = sessions_of(app, plan_id)[0]
    assert (session["partner_id"], session["attendees"]) == (SAM, [SAM])
    assert (session["sharing_agreement_id"], session["sharing_agreement_version"]) == (AGREEMENT, 1)
    assert session["modality"] == "telehealth"


def test_an_individual_session_must_name_a_partner_of_the_plan(app, ctx, plan_id):
    with pytest.raises(RuleBroken) as broken:
        app.record_session(
            ctx=ctx,
            plan_id=plan_id,
            command=RecordSession(**individual_session(partner="stranger")),
        )
    assert "partner_id" in broken.value.extra["errors"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"format": "family"}, "format"),
        ({"modality": "carrier pigeon"}, "modality"),
        ({"focus_issues": []}, "focus_issues"),
        ({"focus_issues": ["a", "b", "c"]}, "focus_issues"),
        ({"check_ins": [{"partner_id": ALEX, "mood": 11}]}, "check_ins[0].mood"),
        ({"check_ins": [{"partner_id": "x", "mood": 1}]}, "check_ins[0].partner_id"),
        ({"clinician_id": "someone-else"}, "clinician_id"),
    ],
)
def test_a_session_with_bad_input_is_refused_naming_the_field(app, ctx, plan_id, overrides, field):
    with pytest.raises(RuleBroken) as broken:
        app.record_session(
            ctx=ctx, plan_id=plan_id, command=RecordSession(**joint_session(**overrides))
        )
    assert field in broken.value.extra["errors"]


def test_a_check_in_must_be_from_someone_at_the_session(app, ctx, plan_id):
    session = individual_session(check_ins=[{"partner_id": SAM, "mood": 5}])
    with pytest.raises(RuleBroken) as broken:
        app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**session))
    assert "check_ins[0].partner_id" in broken.value.extra["errors"]


def test_a_draft_plan_takes_no_sessions(app: PlanApplication, ctx: CommandContext):
    pid = UUID(app.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields()))["plan_id"])
    with pytest.raises(Conflict):
        app.record_session(ctx=ctx, plan_id=pid, command=RecordSession(**joint_session()))


def test_an_individual_plan_needs_no_agreement_and_defaults_the_partner(app, ctx):
    fields = couple_plan_fields(
        unit_kind="individual",
        members=[{"client_id": "solo"}],
        mix={"individual": 4},
        clinicians=[{"clinician_id": THERAPIST, "roles": ["individual-therapist"]}],
    )
    pid = UUID(app.create_plan(ctx=ctx, command=CreatePlan(**fields))["plan_id"])
    app.change_status(ctx=ctx, plan_id=pid, command=ChangeStatus(status="active"))
    app.record_session(
        ctx=ctx,
        plan_id=pid,
        command=RecordSession(**individual_session(partner=None, sharing_agreement_id=None)),
    )
    assert sessions_of(app, pid)[0]["partner_id"] == "solo"


def test_a_family_session_includes_every_member_unless_attendees_are_named(app, ctx):
    fields = couple_plan_fields(
        unit_kind="family",
        members=[{"client_id": c} for c in ("p1", "p2", "kid")],
        clinicians=[{"clinician_id": THERAPIST, "roles": ["family-therapist"]}],
        mix={"family": 2, "individual": 1},
    )
    pid = UUID(app.create_plan(ctx=ctx, command=CreatePlan(**fields))["plan_id"])
    app.change_status(ctx=ctx, plan_id=pid, command=ChangeStatus(status="active"))
    family = joint_session(format="family", check_ins=[])
    app.record_session(ctx=ctx, plan_id=pid, command=RecordSession(**family))
    app.record_session(
        ctx=ctx, plan_id=pid, command=RecordSession(**{**family, "attendees": ["p1", "kid"]})
    )
    app.record_session(
        ctx=ctx,
        plan_id=pid,
        command=RecordSession(**individual_session("kid", sharing_agreement_id=None)),
    )
    assert [s["attendees"] for s in sessions_of(app, pid)] == [
        ["p1", "p2", "kid"],
        ["p1", "kid"],
        ["kid"],
    ]
