"""Every referral event has a contract, and every event the tests produce validates against it."""

from __future__ import annotations

import itertools
from typing import Any
from uuid import UUID

import pytest

from contracts.naming import event_name, publication_of
from contracts.schemas import ContractId, default_registry
from services.common.events import named_event_classes
from services.referral.application import ReferralApplication
from services.referral.domain import TRANSITIONS, Referral, State, Step
from services.referral.domain.commands import ReviseReferral, SendReferral
from services.referral.projections import REFERRAL_EVENTS
from tests.unit.referral.support_helpers import CTX, PATHS, step_arguments, step_command
from tests.unit.referral.test_application import draft


def _take(app: ReferralApplication, rid: UUID, step: Step) -> None:
    if step is Step.SEND:
        app.send(ctx=CTX, referral_id=rid, command=SendReferral(), token=None)
    elif step is Step.REVISE:
        revision = ReviseReferral(**step_arguments(Step.REVISE))
        app.revise(ctx=CTX, referral_id=rid, command=revision)
    else:
        app.step(ctx=CTX, referral_id=rid, command=step_command(step))


def _records(app: ReferralApplication) -> list[dict[str, Any]]:
    summaries = app.summaries.every(app, tenant=CTX.tenant)
    return [r for s in summaries for r in app.history_records(UUID(s.id))]


def test_every_event_of_every_transition_validates_against_its_contract(
    app: ReferralApplication,
) -> None:
    for state, step in itertools.product(State, Step):
        if state in TRANSITIONS[step][0]:
            rid = draft(app)
            for taken in [*PATHS[state], step]:
                _take(app, rid, taken)
    records = _records(app)
    seen = set()
    for record in records:
        default_registry().validate(ContractId.from_ce_type(record["type"]), record["body"])
        seen.add(record["event"])
    assert seen | {"ReferralSendBlocked"} == {event_name(t) for t in REFERRAL_EVENTS}


@pytest.mark.parametrize("outcome", ["DENY", "NO_CONSENT"])
def test_a_blocked_send_validates_against_its_contract(
    app: ReferralApplication, gate: Any, outcome: str
) -> None:
    gate.outcome = outcome
    rid = draft(app)
    with pytest.raises(Exception, match="not sent"):
        app.send(ctx=CTX, referral_id=rid, command=SendReferral(), token=None)
    record = app.history_records(rid)[-1]
    assert record["event"] == "ReferralSendBlocked"
    default_registry().validate(ContractId.from_ce_type(record["type"]), record["body"])


def test_a_plan_suggestion_without_a_client_validates_against_its_contract(
    app: ReferralApplication,
) -> None:
    rid = draft(app, client_id=None, origin="plan-suggestion", organization=None)
    record = app.history_records(rid)[0]
    default_registry().validate(ContractId.from_ce_type(record["type"]), record["body"])


def test_every_named_referral_event_has_a_schema_file_and_no_schema_is_orphaned() -> None:
    named = {event_name(t) for t in named_event_classes("referral")}
    files = {c.event for c in default_registry().contracts() if c.service == "referral"}
    assert named == files


def test_every_referral_schema_is_closed_and_carries_the_record_fields() -> None:
    for contract in default_registry().contracts():
        if contract.service != "referral":
            continue
        schema = default_registry().load(contract)
        assert schema["additionalProperties"] is False, contract
        assert {"id", "version", "timestamp"} <= set(schema["required"]), contract
        assert set(schema["required"]) <= set(schema["properties"]), contract


@pytest.mark.parametrize(
    "event", ["ReferralDrafted", "ReferralSent", "ReferralAccepted", "ReferralCompleted"]
)
def test_the_events_the_plan_service_reacts_to_carry_the_plan_id(event: str) -> None:
    schema = default_registry().load(ContractId("referral", event, 1))
    assert "plan_id" in schema["required"]


def test_every_event_of_a_detox_referral_carries_the_part_2_label(
    app: ReferralApplication,
) -> None:
    rid = draft(app, "detox")
    for step in PATHS[State.COMPLETED]:
        _take(app, rid, step)
    records = app.history_records(rid)
    assert len(records) == 6
    assert all("42CFRPart2" in r["body"]["security_labels"] for r in records)


FULFILMENT_EVENTS = {
    "ReferralReceived",
    "ReferralAccepted",
    "ReferralDeclined",
    "AppointmentScheduled",
    "AppointmentMissed",
    "AppointmentCancelled",
    "AppointmentAttended",
    "CancellationRequested",
    "FulfillmentCancelled",
    "ReferralCancelled",
    "ReferralFailed",
    "ReferralCompleted",
    "ReferralEnteredInError",
}


def test_the_inherited_step_events_are_named_projected_and_published_as_the_referrals() -> None:
    names = {event_name(t) for t in REFERRAL_EVENTS}
    assert names == {
        "ReferralDrafted",
        "ReferralRevised",
        "ReferralSendBlocked",
        "ReferralSent",
        *FULFILMENT_EVENTS,
    }
    for name in FULFILMENT_EVENTS:
        cls = named_event_classes("referral")[f"careledger.referral.{name}"]
        assert cls is getattr(Referral, name) and cls.__qualname__ == f"Referral.{name}"
        publication = publication_of(cls)
        assert (publication.labels, publication.version) == (("R", "BH"), 2)
        assert "note" in publication.private
    assert "reason" in publication_of(Referral.ReferralDeclined).private
