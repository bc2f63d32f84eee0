"""Every consent event, as the relay publishes it, validates against its contract."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.envelope import build_record
from contracts.naming import event_name
from contracts.schemas import ContractId, ContractViolation, default_registry
from services.common.context import CommandContext
from services.common.events import decode_state, named_event_classes
from services.consent.application import ConsentApplication
from services.consent.domain.commands import (
    CloseReview,
    Decide,
    DraftAgreement,
    ExpireConsent,
    MarkConsentEnteredInError,
    ProduceAccounting,
    RecordConsent,
    RecordDisclosure,
    RecordLateDisclosure,
    RejectConsent,
    ReviseAgreement,
    RevokeConsent,
    SignAgreement,
)
from services.consent.domain.terms import CarveOut, Recipient
from tests.unit.consent.support_builders import (
    DETOX,
    NOW,
    SISTER,
    active_consent,
    consent_terms,
    context,
    emergency_request,
    request,
)
from tests.unit.consent.test_decisions_and_disclosures import disclosure_terms
from tests.unit.consent.test_late_disclosures import late, sent


def produce_every_event(app: ConsentApplication, ctx: CommandContext) -> None:
    """One of each event the consent service stores."""
    drafted = app.draft_agreement(
        ctx=ctx,
        command=DraftAgreement(
            partner_ids=["person-a", "person-b"], mode="strict", carve_outs=None
        ),
    )
    app.sign_agreement(
        ctx=ctx,
        agreement_id=drafted["agreement_id"],
        command=SignAgreement(partner_id="person-a", signed_on=None),
    )
    app.revise_agreement(
        ctx=ctx,
        agreement_id=drafted["agreement_id"],
        command=ReviseAgreement(mode="no-secrets", carve_outs=[]),
    )
    consent = active_consent(
        app, ctx, recipients=[DETOX, SISTER], provisions=[{"type": "deny", "labels": ["HIV"]}]
    )
    app.change_consent(
        ctx=ctx, consent_id=consent["consent_id"], command=RevokeConsent(recipient_id=SISTER["id"])
    )
    app.change_consent(
        ctx=ctx,
        consent_id=consent["consent_id"],
        command=ExpireConsent(on=None, expiry_event="program completed"),
    )
    other = active_consent(app, ctx, part2=True, labels=["42CFRPart2"])
    app.change_consent(
        ctx=ctx, consent_id=other["consent_id"], command=RevokeConsent(in_writing=True)
    )
    rejected = app.create_consent(ctx=ctx, command=RecordConsent(terms=consent_terms()))
    app.change_consent(ctx=ctx, consent_id=rejected["consent_id"], command=RejectConsent())
    app.change_consent(
        ctx=ctx, consent_id=rejected["consent_id"], command=MarkConsentEnteredInError()
    )
    permit = active_consent(app, ctx)
    decision = app.decide(ctx=ctx, command=Decide(request=request(labels=frozenset({"PSY"}))))
    assert decision["basis"]["consent_id"] == permit["consent_id"]
    app.record_disclosure(
        ctx=ctx,
        command=RecordDisclosure(
            terms=disclosure_terms(decision, labels=[], obligations_met=["redact"])
        ),
    )
    app.decide(ctx=ctx, command=Decide(request=request(recipient=Recipient(**SISTER))))
    glass = app.decide(ctx=ctx, command=Decide(request=emergency_request()))
    app.close_review(
        ctx=context(role="compliance"),
        decision_id=glass["decision_id"],
        command=CloseReview(finding="justified", note="ER call"),
    )
    carve = CarveOut("court-order", "a court ordered the plan produced for the hearing")
    app.decide(ctx=ctx, command=Decide(request=request(carve_out=carve)))
    app.record_late_disclosure(
        ctx=ctx, command=RecordLateDisclosure(terms=late(disclosed_at=NOW - dt.timedelta(days=900)))
    )
    app.save_as(
        ctx,
        *app.referral_sent(
            tenant=ctx.tenant, body=sent("x").body, actor="c", source_ref="careledger.referral/1"
        ),
    )
    app.account(ctx=ctx, person_id="person-a", command=ProduceAccounting(format="json"))


# Free text the scenario writes: no published record may carry any of it.
FREE_TEXT = (
    "unresponsive at detox intake",
    "Dr. On Call",
    "County General",
    "overdose",
    "court ordered the plan",
    "treatment summary",
    "intake assessment",
    "Harbor Detox",
    "1 Court Sq",
    "CV-1",
)


def test_every_stored_consent_event_validates_against_its_schema(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    produce_every_event(app, ctx)
    registry = default_registry()
    seen = set()
    for notification in app.recorder.select_notifications(start=1, limit=1000):
        record = build_record(
            stored_topic=notification.topic,
            aggregate_id=notification.originator_id,
            version=notification.originator_version,
            position=notification.id,
            state=decode_state(app.mapper, notification.topic, notification.state),
            registry=registry,
        )
        published = str(record.body)
        assert not [t for t in FREE_TEXT if t in published], notification.topic
        seen.add(event_name(notification.topic))
    every = {event_name(topic) for topic in named_event_classes("consent")}
    assert seen == every


def test_every_consent_event_type_has_a_schema_file() -> None:
    registry = default_registry()
    names = {event_name(topic) for topic in named_event_classes("consent")}
    files = {c.event for c in registry.contracts() if c.service == "consent"}
    assert names == files


def test_a_schema_refuses_a_field_it_does_not_list() -> None:
    registry = default_registry()
    body = {
        "consent_id": "8f4b2d3e-9a51-4c57-a7a8-2b1f6c0de001",
        "id": "x",
        "version": 2,
        "timestamp": "2026-11-25T12:00:00+00:00",
        "name": "Alex",
    }
    with pytest.raises(ContractViolation, match="additionalProperties"):
        registry.validate(ContractId("consent", "ConsentFiled", 1), body)
