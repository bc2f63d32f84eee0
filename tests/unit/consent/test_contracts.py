"""Every consent event validates against its contract in contracts/schemas/consent."""

from __future__ import annotations

import pytest

from contracts.records import event_body
from contracts.schemas import ContractId, ContractViolation, default_registry
from services.common.context import CommandContext
from services.common.events import decode_state, event_name, named_event_classes
from services.consent.application import ConsentApplication
from services.consent.domain.terms import Recipient
from tests.unit.consent.builders import (
    DETOX,
    SISTER,
    active_consent,
    consent_terms,
    context,
    emergency,
    request,
)
from tests.unit.consent.test_decisions_and_disclosures import disclosure_terms


def produce_every_event(app: ConsentApplication, ctx: CommandContext) -> None:
    """One of each event the consent service stores."""
    drafted = app.draft_agreement(
        partner_ids=["person-a", "person-b"], mode="strict", carve_outs=None, ctx=ctx
    )
    app.sign_agreement(drafted["agreement_id"], partner_id="person-a", signed_on=None, ctx=ctx)
    app.revise_agreement(drafted["agreement_id"], mode="no-secrets", carve_outs=[], ctx=ctx)
    consent = active_consent(
        app, ctx, recipients=[DETOX, SISTER], provisions=[{"type": "deny", "labels": ["HIV"]}]
    )
    app.change_consent(consent["consent_id"], "revoke", ctx=ctx, recipient_id=SISTER["id"])
    app.change_consent(
        consent["consent_id"], "expire", ctx=ctx, on=None, expiry_event="program completed"
    )
    other = active_consent(app, ctx, part2=True, labels=["42CFRPart2"])
    app.change_consent(other["consent_id"], "revoke", ctx=ctx, in_writing=True)
    rejected = app.create_consent(terms=consent_terms(), ctx=ctx)
    app.change_consent(rejected["consent_id"], "reject", ctx=ctx)
    app.change_consent(rejected["consent_id"], "enter-in-error", ctx=ctx)
    permit = active_consent(app, ctx)
    decision = app.decide(request=request(labels=frozenset({"PSY"})), ctx=ctx)
    assert decision["basis"]["consent_id"] == permit["consent_id"]
    app.record_disclosure(terms=disclosure_terms(decision, labels=[]), ctx=ctx)
    app.decide(request=request(recipient=Recipient(**SISTER)), ctx=ctx)
    glass = app.decide(request=request(break_glass=emergency()), ctx=ctx)
    app.close_review(
        glass["decision_id"], finding="justified", note="ER call", ctx=context(role="compliance")
    )


def test_every_stored_consent_event_validates_against_its_schema(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    produce_every_event(app, ctx)
    registry = default_registry()
    seen = set()
    for notification in app.recorder.select_notifications(start=1, limit=1000):
        state = decode_state(app.mapper, notification.topic, notification.state)
        body = event_body(notification.originator_id, notification.originator_version, state)
        name = event_name(notification.topic)
        registry.validate(ContractId("consent", name, 1), body)
        seen.add(name)
    every = {event_name(topic) for topic in named_event_classes("consent")}
    assert seen == every


def test_every_consent_event_type_has_a_schema_file() -> None:
    registry = default_registry()
    names = {event_name(topic) for topic in named_event_classes("consent")}
    files = {c.event for c in registry.contracts() if c.service == "consent"}
    assert names == files


def test_a_schema_refuses_a_field_it_does_not_list() -> None:
    registry = default_registry()
    body = {"consent_id": "8f4b2d3e-9a51-4c57-a7a8-2b1f6c0de001", "id": "x", "version": 2,
            "timestamp": "2026-11-25T12:00:00+00:00", "name": "Alex"}  # fmt: skip
    with pytest.raises(ContractViolation, match="additionalProperties"):
        registry.validate(ContractId("consent", "ConsentFiled", 1), body)
