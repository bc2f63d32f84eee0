"""Recorded decisions, the break-glass review queue, and disclosures resting on a PERMIT."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, RuleBroken
from services.consent.application import ConsentApplication
from services.consent.domain.commands import CloseReview, Decide, RecordDisclosure, RevokeConsent
from services.consent.domain.terms import BreakGlass, Recipient
from services.consent.projections import DecisionFilter
from tests.unit.consent.support_builders import (
    DETOX,
    NOW,
    SISTER,
    active_consent,
    context,
    emergency_request,
    request,
)


def disclosure_terms(decision: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    terms: dict[str, Any] = {
        "person_id": decision["person_id"],
        "decision_id": decision["decision_id"],
        "recipient": {**decision["recipient"], "address": "1 Harbor Rd"},
        "description": "intake assessment",
        "categories": decision["categories"],
        "labels": decision["labels"],
        "purpose": decision["purpose"],
        "disclosed_at": NOW,
    }
    terms.update(overrides)
    return terms


def test_every_decision_permit_or_deny_is_recorded(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    active_consent(app, ctx)
    permit = app.decide(ctx=ctx, command=Decide(request=request()))
    refused = app.decide(ctx=ctx, command=Decide(request=request(recipient=Recipient(**SISTER))))
    assert (permit["outcome"], refused["outcome"]) == ("PERMIT", "NO_CONSENT")
    recorded = {d["decision_id"]: d["outcome"] for d in app.decisions(tenant=ctx.tenant).rows}
    assert recorded == {permit["decision_id"]: "PERMIT", refused["decision_id"]: "NO_CONSENT"}


def test_a_request_with_unknown_codes_is_refused_naming_every_field(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    bad = request(
        recipient=Recipient(kind="neighbour", id="x"),
        purpose="CURIOSITY",
        categories=frozenset({"diary"}),
        labels=frozenset({"SECRET"}),
    )
    with pytest.raises(RuleBroken) as caught:
        app.decide(ctx=ctx, command=Decide(request=bad))
    assert set(caught.value.extra["errors"]) == {
        "recipient.kind",
        "purpose",
        "categories",
        "labels",
    }
    assert app.decisions(tenant=ctx.tenant).rows == []


def test_break_glass_needs_a_real_justification(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    with pytest.raises(RuleBroken) as caught:
        app.decide(
            ctx=ctx,
            command=Decide(
                request=emergency_request(break_glass=BreakGlass("imminent-threat", "urgent"))
            ),
        )
    assert "break_glass.justification" in caught.value.extra["errors"]


def test_break_glass_waits_in_the_review_queue_until_compliance_closes_it(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision = app.decide(ctx=ctx, command=Decide(request=emergency_request()))
    assert decision["outcome"] == "PERMIT"
    assert [d["decision_id"] for d in app.review_queue(tenant=ctx.tenant).rows] == [
        decision["decision_id"]
    ]
    compliance = context(role="compliance", actor="comp-1")
    closed = app.close_review(
        ctx=compliance,
        decision_id=decision["decision_id"],
        command=CloseReview(finding="justified", note=None),
    )
    assert closed["review"]["reviewer_id"] == "comp-1"
    assert app.review_queue(tenant=ctx.tenant).rows == []
    listed = app.decisions(tenant=ctx.tenant, query=DecisionFilter(break_glass=True)).rows
    assert listed[0]["review"]["finding"] == "justified"
    with pytest.raises(Conflict):
        app.close_review(
            ctx=compliance,
            decision_id=decision["decision_id"],
            command=CloseReview(finding="justified", note=None),
        )


def test_a_decision_that_was_not_break_glass_has_no_review_to_close(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision = app.decide(ctx=ctx, command=Decide(request=request()))
    with pytest.raises(Conflict):
        app.close_review(
            ctx=ctx,
            decision_id=decision["decision_id"],
            command=CloseReview(finding="justified", note=None),
        )


def test_decisions_of_another_practice_are_not_listed(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    app.decide(ctx=ctx, command=Decide(request=request()))
    assert app.decisions(tenant="practice-2").rows == []


def test_a_disclosure_matching_its_permit_is_recorded_and_filed(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx)
    decision = app.decide(ctx=ctx, command=Decide(request=request()))
    disclosure = app.record_disclosure(
        ctx=ctx, command=RecordDisclosure(terms=disclosure_terms(decision))
    )
    assert disclosure["consent_id"] == consent["consent_id"]
    assert disclosure["disclosed_by"] == ctx.actor_id
    assert [d["disclosure_id"] for d in app.disclosures_of(ctx.tenant, "person-a")] == [
        disclosure["disclosure_id"]
    ]


def test_a_disclosure_on_a_denied_decision_is_a_conflict(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision = app.decide(ctx=ctx, command=Decide(request=request()))
    with pytest.raises(Conflict) as caught:
        app.record_disclosure(ctx=ctx, command=RecordDisclosure(terms=disclosure_terms(decision)))
    assert "decision_id" in caught.value.extra["mismatches"]


def test_a_disclosure_to_another_recipient_purpose_or_category_names_each_mismatch(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    active_consent(app, ctx)
    decision = app.decide(ctx=ctx, command=Decide(request=request()))
    terms = disclosure_terms(
        decision, recipient=SISTER, purpose="COC", categories=["assessment", "diagnosis"]
    )
    with pytest.raises(Conflict) as caught:
        app.record_disclosure(ctx=ctx, command=RecordDisclosure(terms=terms))
    assert set(caught.value.extra["mismatches"]) == {"recipient", "purpose", "categories"}


def test_labels_the_decision_says_to_redact_cannot_be_disclosed(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    active_consent(app, ctx)
    decision = app.decide(ctx=ctx, command=Decide(request=request(labels=frozenset({"PSY"}))))
    with pytest.raises(Conflict) as caught:
        app.record_disclosure(ctx=ctx, command=RecordDisclosure(terms=disclosure_terms(decision)))
    assert set(caught.value.extra["mismatches"]) == {"labels", "obligations_met"}
    done = app.record_disclosure(
        ctx=ctx,
        command=RecordDisclosure(
            terms=disclosure_terms(decision, labels=[], obligations_met=["redact"])
        ),
    )
    assert done["labels"] == []
    assert done["obligations_met"] == [{"code": "redact", "labels": ["PSY"]}]


def test_a_disclosure_cannot_be_recorded_before_it_is_made(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    active_consent(app, ctx)
    decision = app.decide(ctx=ctx, command=Decide(request=request()))
    later = NOW + dt.timedelta(days=1)
    with pytest.raises(RuleBroken):
        app.record_disclosure(
            ctx=ctx, command=RecordDisclosure(terms=disclosure_terms(decision, disclosed_at=later))
        )


def test_a_revoked_recipient_is_no_longer_permitted(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx, recipients=[DETOX, SISTER])
    app.change_consent(
        ctx=ctx, consent_id=consent["consent_id"], command=RevokeConsent(recipient_id=SISTER["id"])
    )
    sister = app.decide(ctx=ctx, command=Decide(request=request(recipient=Recipient(**SISTER))))
    detox = app.decide(ctx=ctx, command=Decide(request=request()))
    assert (sister["outcome"], detox["outcome"]) == ("DENY", "PERMIT")
    assert sister["basis"]["rule"] == "recipient-revoked"
    assert detox["basis"]["consent_version"] == 3
