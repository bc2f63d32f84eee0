"""What the store keeps as free text or contact details never reaches a record (in memory).

For each service a scenario stores events full of free text; every stored free-text value (the
fields the stored contract version has as free text) must be absent from the record the relay
would publish, while the record still validates and carries its labels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from contracts.envelope import OutboundRecord, build_record
from contracts.fields import free_text_paths
from contracts.naming import event_name, service_of
from contracts.privacy import CONFIDENTIALITY, parse_path
from contracts.records import event_body
from contracts.schemas import ContractId, default_registry
from services.common.events import decode_state
from services.common.store.application import CareApplication, build_application
from services.consent.application import ConsentApplication
from services.consent.domain.commands import (
    CloseReview,
    Decide,
    ExpireConsent,
    RecordDisclosure,
    RecordLateDisclosure,
)
from services.consent.domain.terms import BreakGlass, CarveOut, Recipient
from services.plan.agreements import InMemoryAgreements
from services.plan.application import PlanApplication
from services.plan.domain.commands import (
    AddGoal,
    ChangeGoalStatus,
    ChangeStatus,
    CreatePlan,
    RecordMeasurement,
    RecordReadiness,
    RecordReview,
    RecordSession,
    ReviseGoal,
    ShiftFormat,
)
from services.referral.application import ReferralApplication
from services.referral.domain import Step
from services.referral.domain.commands import STEP_COMMANDS, ReviseReferral, SendReferral
from tests.unit.consent.support_builders import NOW, active_consent, context, request
from tests.unit.consent.test_contracts import produce_every_event
from tests.unit.consent.test_decisions_and_disclosures import disclosure_terms
from tests.unit.consent.test_late_disclosures import late
from tests.unit.plan.support_builders import (
    ALEX,
    SAM,
    THERAPIST,
    agreement_view,
    couple_plan_fields,
    individual_session,
    joint_goal,
    joint_session,
    shift_fields,
)
from tests.unit.referral.support_helpers import CTX, FakeConsentGate, step_arguments
from tests.unit.referral.test_application import draft

MARK = "zq-private-7731"


def published(app: CareApplication) -> Iterator[tuple[str, dict[str, Any], OutboundRecord]]:
    """(stored name, stored body, record) of every event the application stored."""
    for n in app.recorder.select_notifications(1, 10_000):
        state = decode_state(app.mapper, n.topic, n.state)
        record = build_record(
            stored_topic=n.topic,
            aggregate_id=n.originator_id,
            version=n.originator_version,
            position=n.id,
            state=state,
        )
        yield n.topic, event_body(n.originator_id, n.originator_version, state), record


def values_at(node: Any, steps: tuple[tuple[str, str], ...]) -> Iterator[str]:
    if not steps:
        yield from (node if isinstance(node, list) else [node])
        return
    if isinstance(node, dict):
        (name, kind), rest = steps[0], steps[1:]
        value = node.get(name)
        for item in (value or []) if kind and isinstance(value, list) else [value]:
            yield from values_at(item, rest)


def assert_no_stored_free_text_published(app: CareApplication, least: int) -> None:
    """No free-text field of the stored event is in its record, and no marker at all."""
    checked = 0
    for topic, body, record in published(app):
        stored = ContractId(service_of(topic), event_name(topic), 1)
        for path in free_text_paths(default_registry().load(stored)):
            steps = parse_path(path)
            held = [v for v in values_at(body, steps) if isinstance(v, str) and v]
            assert not [v for v in values_at(record.body, steps) if v is not None], (
                f"{record.contract.ce_type} publishes its {path}"
            )
            checked += len(held)
        assert MARK not in record.value.decode(), f"{record.contract.ce_type} carries the marker"
        labels = dict(record.headers)["ce_sensitivity"].decode().split(",")
        assert set(labels) & CONFIDENTIALITY, f"{record.contract.ce_type} has no confidentiality"
    assert checked >= least, f"only {checked} free-text values were stored: the scenario is thin"


def test_plan_records_carry_none_of_the_plan_free_text() -> None:
    app: PlanApplication = build_application(PlanApplication, None)
    agreements = InMemoryAgreements()
    agreements.put("practice-1", agreement_view())
    app.agreements = agreements
    ctx = context(actor=THERAPIST, tenant="practice-1")
    plan_id = UUID(app.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields()))["plan_id"])
    app.change_status(
        ctx=ctx,
        plan_id=plan_id,
        command=ChangeStatus(status="active", reason=f"{MARK} intake done"),
    )
    goal = joint_goal(description=f"{MARK} goal", measure=f"{MARK} count", unit=f"{MARK} unit")
    goal_id = app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**goal))["goal_id"]
    app.revise_goal(
        ctx=ctx,
        plan_id=plan_id,
        command=ReviseGoal(goal_id=goal_id, description=f"{MARK} revised goal"),
    )
    app.record_measurement(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordMeasurement(
            partner_id=ALEX, goal_id=goal_id, value=5, taken_on=dt.date(2026, 1, 9)
        ),
    )
    check_ins = [
        {"partner_id": ALEX, "mood": 5, "triggers": [f"{MARK} trigger"]},
        {"partner_id": SAM, "mood": 4, "triggers": []},
    ]
    notes = {"focus_issues": [f"{MARK} focus"], "homework": [f"{MARK} homework"]}
    app.record_session(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordSession(**joint_session(check_ins=check_ins, **notes)),
    )
    app.record_session(
        ctx=ctx, plan_id=plan_id, command=RecordSession(**individual_session(**notes))
    )
    app.record_review(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordReview(
            held_on=dt.date(2026, 2, 2),
            next_mix={"individual": 2},
            goal_progress=[
                {"goal_id": goal_id, "achievement_status": "improving", "note": f"{MARK} note"}
            ],
            strategy_changes=[f"{MARK} strategy"],
        ),
    )
    app.shift_format(
        ctx=ctx, plan_id=plan_id, command=ShiftFormat(**shift_fields(rationale=f"{MARK} rationale"))
    )
    app.change_goal_status(
        ctx=ctx,
        plan_id=plan_id,
        command=ChangeGoalStatus(goal_id=goal_id, status="cancelled", reason=f"{MARK} why"),
    )
    app.record_readiness(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordReadiness(
            ready=False,
            criteria=[f"{MARK} criterion"],
            decided_by=THERAPIST,
            decided_on=dt.date(2026, 2, 20),
        ),
    )
    assert_no_stored_free_text_published(app, least=14)
    history = app.history(plan_id, tenant="practice-1")
    assert str(history).count(MARK) >= 14, "the store keeps the free text"


def test_consent_records_carry_no_recipient_details_descriptions_or_justifications() -> None:
    app: ConsentApplication = build_application(ConsentApplication, None)
    app.clock = lambda: NOW  # type: ignore[method-assign]
    ctx = context()
    produce_every_event(app, ctx)
    person = {
        "kind": "family-member",
        "id": "person-mother",
        "name": f"{MARK} Ruth",
        "address": f"{MARK} 3 Oak Lane",
    }
    consent = active_consent(
        app, ctx, description=f"{MARK} what", recipients=[person], expiry_event=f"{MARK} discharge"
    )
    glass = BreakGlass(
        kind="medical-emergency",
        justification=f"{MARK} collapsed",
        received_by=f"{MARK} Dr Ode",
        affiliation=f"{MARK} County ED",
        nature_of_emergency=f"{MARK} overdose",
    )
    recipient = Recipient(
        kind="provider", id="dr-ode", name=f"{MARK} Ruth", address=f"{MARK} 1 ED Way"
    )
    asked = request(recipient=recipient, break_glass=glass, categories=frozenset({"substance-use"}))
    decision = app.decide(ctx=ctx, command=Decide(request=asked))
    assert decision["outcome"] == "PERMIT"
    carve = CarveOut("mandated-reporting", f"{MARK} disclosed harm to a child at home")
    app.decide(ctx=ctx, command=Decide(request=request(carve_out=carve)))
    app.record_late_disclosure(
        ctx=ctx,
        command=RecordLateDisclosure(
            terms=late(
                description=f"{MARK} produced",
                recipient={"kind": "organization", "id": "court", "name": f"{MARK} Court"},
                basis={
                    "kind": "legal-exception",
                    "exception": "court-order",
                    "reference": f"{MARK} CV-1",
                },
            )
        ),
    )
    app.record_disclosure(
        ctx=ctx,
        command=RecordDisclosure(
            terms=disclosure_terms(
                decision,
                description=f"{MARK} notes",
                labels=[],
                obligations_met=["attach-part2-notice"],
            )
        ),
    )
    app.close_review(
        ctx=context(role="compliance"),
        decision_id=decision["decision_id"],
        command=CloseReview(finding="justified", note=f"{MARK} ok"),
    )
    app.change_consent(
        ctx=ctx,
        consent_id=consent["consent_id"],
        command=ExpireConsent(on=None, expiry_event=f"{MARK} discharged"),
    )
    assert_no_stored_free_text_published(app, least=25)


def test_referral_records_carry_no_reasons_notes_or_contact_details() -> None:
    app: ReferralApplication = build_application(ReferralApplication, None)
    app.consent_gate = FakeConsentGate("PERMIT")
    organization = {
        "id": "org-1",
        "name": f"{MARK} House",
        "phone": "555-0199",
        "email": "intake@example.org",
        "address": "9 Elm St",
    }
    contact = {"name": f"{MARK} Lee", "role": "intake nurse", "phone": "555-0198"}
    rid = draft(
        app,
        reason=f"{MARK} reason",
        organization=organization,
        contact=contact,
        note=f"{MARK} drafted",
    )
    revision = {
        **step_arguments(Step.REVISE),
        "reason": f"{MARK} revised",
        "organization": organization,
        "contact": contact,
    }
    app.revise(ctx=CTX, referral_id=rid, command=ReviseReferral(**revision))
    sending = SendReferral(note=f"{MARK} sent")
    app.send(ctx=CTX, referral_id=rid, command=sending, token=None)
    for step in (Step.RECEIVE, Step.DECLINE):
        arguments = {**step_arguments(step), "note": f"{MARK} {step.value}"}
        if step is Step.DECLINE:
            arguments["reason"] = f"{MARK} no capacity"
        app.step(ctx=CTX, referral_id=rid, command=STEP_COMMANDS[step](**arguments))
    assert_no_stored_free_text_published(app, least=20)
    assert MARK in str(app.get(tenant="practice-a", referral_id=rid))
