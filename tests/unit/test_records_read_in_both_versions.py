"""The consumers read v1 records (already on the topics) and v2 records alike.

Records are built by the relay's own `build_record` from events the source service stored, then
parsed as the consumer parses them (`parse_consumer_record`, which checks each against the
contract its `ce_type` names). The v1 form is the same event as it was published before v2:
every stored field, `ce_type` and `ce_dataschema` of v1.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from contracts.envelope import OutboundRecord, parse_consumer_record
from contracts.records import InboundRecord, event_body
from services.common.events import decode_state
from services.common.store.application import CareApplication, build_application
from services.plan import reactions as plan_reactions
from services.plan.application import PlanApplication
from services.plan.domain.commands import ChangeStatus, CreatePlan, ShiftFormat
from services.referral import reactions as referral_reactions
from services.referral.application import ReferralApplication
from services.referral.domain import State
from services.referral.domain.commands import SendReferral
from tests.unit.plan.support_builders import THERAPIST, couple_plan_fields, shift_fields
from tests.unit.referral.support_helpers import CTX, PATHS, FakeConsentGate, step_command
from tests.unit.referral.test_application import draft
from tests.unit.test_records_carry_no_free_text import MARK, published


def both_forms(app: CareApplication, event: str) -> list[tuple[int, InboundRecord]]:
    """(version, parsed record) of the v1 and the v2 form of every stored `event`."""
    forms = []
    notifications = {n.id: n for n in app.recorder.select_notifications(1, 10_000)}
    for _topic, _body, record in published(app):
        if record.contract.event != event:
            continue
        assert record.contract.version == 2
        n = notifications[record.position]
        full = event_body(
            n.originator_id, n.originator_version, decode_state(app.mapper, n.topic, n.state)
        )
        forms.append((2, parse_consumer_record(delivered(record))))
        forms.append((1, parse_consumer_record(delivered(record, v1_body=full))))
    assert forms, f"no {event} was stored"
    return forms


def delivered(record: OutboundRecord, v1_body: dict[str, Any] | None = None) -> Any:
    """The record as kafka-python hands it to a consumer (as published before v2 if v1_body)."""
    headers, value = record.headers, record.value
    if v1_body is not None:
        headers = [
            (k, v.replace(b".v2", b".v1") if k in ("ce_type", "ce_dataschema") else v)
            for k, v in headers
        ]
        value = json.dumps(v1_body, separators=(",", ":")).encode()
    return SimpleNamespace(
        topic=f"careledger.{record.contract.service}",
        partition=0,
        offset=record.position,
        key=record.key,
        value=value,
        headers=headers,
    )


def test_the_referral_consumer_opens_the_same_suggestion_from_a_v1_or_v2_format_shift() -> None:
    plans: PlanApplication = build_application(PlanApplication, None)
    ctx = CTX.__class__(actor_id=THERAPIST, actor_role="clinician", tenant=CTX.tenant)
    plan_id = UUID(
        plans.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields()))["plan_id"]
    )
    plans.change_status(ctx=ctx, plan_id=plan_id, command=ChangeStatus(status="active"))
    plans.shift_format(
        ctx=ctx,
        plan_id=plan_id,
        command=ShiftFormat(
            **shift_fields(reason="withdrawal-risk", rationale=f"{MARK} rationale")
        ),
    )
    suggestions = {}
    for version, record in both_forms(plans, "FormatShifted"):
        assert record.ce_type == f"careledger.plan.FormatShifted.v{version}"
        assert ("rationale" in record.body) is (version == 1)
        referrals: ReferralApplication = build_application(ReferralApplication, None)
        [suggestion] = referral_reactions.react(referrals, record)
        referrals.save_as(CTX.caused_by(record.ce_id), suggestion)
        view = referrals.get(tenant=CTX.tenant, referral_id=suggestion.id)
        suggestions[version] = {
            k: view[k]
            for k in ("id", "referral_type", "plan_id", "client_id", "reason", "source_id")
        }
    assert suggestions[1] == suggestions[2]
    assert suggestions[2]["referral_type"] == "detox"
    assert suggestions[2]["plan_id"] == str(plan_id) and MARK not in str(suggestions[2])


@pytest.mark.parametrize("event", ["ReferralSent", "ReferralAccepted", "ReferralCompleted"])
def test_the_plan_consumer_notes_a_v1_or_v2_referral_record_the_same_way(event: str) -> None:
    plans: PlanApplication = build_application(PlanApplication, None)
    ctx = CTX.__class__(actor_id=THERAPIST, actor_role="clinician", tenant=CTX.tenant)
    plan_id = UUID(
        plans.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields()))["plan_id"]
    )
    referrals: ReferralApplication = build_application(ReferralApplication, None)
    referrals.consent_gate = FakeConsentGate("PERMIT")
    organization = {"id": "org-1", "name": f"{MARK} House", "phone": "555-0199"}
    rid = draft(referrals, plan_id=plan_id, organization=organization, note=f"{MARK} note")
    for step in PATHS[State.COMPLETED]:
        if step.value == "send":
            sending = SendReferral(note=f"{MARK} sent")
            referrals.send(ctx=CTX, referral_id=rid, command=sending, token=None)
        else:
            referrals.step(ctx=CTX, referral_id=rid, command=step_command(step))
    noted = {}
    for version, record in both_forms(referrals, event):
        assert ("note" in record.body) is (version == 1)
        assert MARK not in json.dumps(record.body) or version == 1
        [plan] = plan_reactions.react(plans, record)
        [change] = plan.collect_events()
        noted[version] = (change.referral_id, change.stage, change.outcome)
    assert noted[1] == noted[2]
    assert noted[2][0] == str(rid)


def test_a_record_of_either_version_must_still_fit_its_own_contract() -> None:
    plans: PlanApplication = build_application(PlanApplication, None)
    ctx = CTX.__class__(actor_id=THERAPIST, actor_role="clinician", tenant=CTX.tenant)
    plan_id = UUID(
        plans.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields()))["plan_id"]
    )
    plans.change_status(
        ctx=ctx, plan_id=plan_id, command=ChangeStatus(status="revoked", reason="travel")
    )
    [(_, _, record)] = [r for r in published(plans) if r[2].contract.event == "PlanStatusChanged"]
    with_reason = {**json.loads(record.value), "reason": "travel"}
    as_v2 = delivered(record)
    as_v2.value = json.dumps(with_reason).encode()  # a v2 record may not carry the reason
    with pytest.raises(ValueError, match="does not match its contract"):
        parse_consumer_record(as_v2)
    without = {k: v for k, v in with_reason.items() if k != "reason"}
    with pytest.raises(ValueError, match="does not match its contract"):
        parse_consumer_record(delivered(record, v1_body=without))  # v1 requires it
