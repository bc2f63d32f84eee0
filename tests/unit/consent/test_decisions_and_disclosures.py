"""Recorded decisions, the break-glass review queue, and disclosures resting on a PERMIT."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, RuleBroken
from services.consent.application import ConsentApplication
from services.consent.domain.terms import BreakGlass, Recipient
from tests.unit.consent.builders import (
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
    permit = app.decide(request=request(), ctx=ctx)
    refused = app.decide(request=request(recipient=Recipient(**SISTER)), ctx=ctx)
    assert (permit["outcome"], refused["outcome"]) == ("PERMIT", "NO_CONSENT")
    recorded = {d["decision_id"]: d["outcome"] for d in app.decisions(ctx.tenant)}
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
        app.decide(request=bad, ctx=ctx)
    assert set(caught.value.extra["errors"]) == {
        "recipient.kind",
        "purpose",
        "categories",
        "labels",
    }
    assert app.decisions(ctx.tenant) == []


def test_break_glass_needs_a_real_justification(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    with pytest.raises(RuleBroken) as caught:
        app.decide(
            request=emergency_request(break_glass=BreakGlass("imminent-threat", "urgent")), ctx=ctx
        )
    assert "break_glass.justification" in caught.value.extra["errors"]


def test_break_glass_waits_in_the_review_queue_until_compliance_closes_it(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision = app.decide(request=emergency_request(), ctx=ctx)
    assert decision["outcome"] == "PERMIT"
    assert [d["decision_id"] for d in app.review_queue(ctx.tenant)] == [decision["decision_id"]]
    compliance = context(role="compliance", actor="comp-1")
    closed = app.close_review(
        decision["decision_id"], finding="justified", note=None, ctx=compliance
    )
    assert closed["review"]["reviewer_id"] == "comp-1"
    assert app.review_queue(ctx.tenant) == []
    listed = app.decisions(ctx.tenant, break_glass=True)
    assert listed[0]["review"]["finding"] == "justified"
    with pytest.raises(Conflict):
        app.close_review(decision["decision_id"], finding="justified", note=None, ctx=compliance)


def test_a_decision_that_was_not_break_glass_has_no_review_to_close(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision = app.decide(request=request(), ctx=ctx)
    with pytest.raises(Conflict):
        app.close_review(decision["decision_id"], finding="justified", note=None, ctx=ctx)


def test_decisions_of_another_practice_are_not_listed(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    app.decide(request=request(), ctx=ctx)
    assert app.decisions("practice-2") == []


def test_a_disclosure_matching_its_permit_is_recorded_and_filed(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx)
    decision = app.decide(request=request(), ctx=ctx)
    disclosure = app.record_disclosure(terms=disclosure_terms(decision), ctx=ctx)
    assert disclosure["consent_id"] == consent["consent_id"]
    assert disclosure["disclosed_by"] == ctx.actor_id
    assert [d["disclosure_id"] for d in app.disclosures_of(ctx.tenant, "person-a")] == [
        disclosure["disclosure_id"]
    ]


def test_a_disclosure_on_a_denied_decision_is_a_conflict(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision = app.decide(request=request(), ctx=ctx)
    with pytest.raises(Conflict) as caught:
        app.record_disclosure(terms=disclosure_terms(decision), ctx=ctx)
    assert "decision_id" in caught.value.extra["mismatches"]


def test_a_disclosure_to_another_recipient_purpose_or_category_names_each_mismatch(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    active_consent(app, ctx)
    decision = app.decide(request=request(), ctx=ctx)
    terms = disclosure_terms(
        decision, recipient=SISTER, purpose="COC", categories=["assessment", "diagnosis"]
    )
    with pytest.raises(Conflict) as caught:
        app.record_disclosure(terms=terms, ctx=ctx)
    assert set(caught.value.extra["mismatches"]) == {"recipient", "purpose", "categories"}


def test_labels_the_decision_says_to_redact_cannot_be_disclosed(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    active_consent(app, ctx)
    decision = app.decide(request=request(labels=frozenset({"PSY"})), ctx=ctx)
    with pytest.raises(Conflict) as caught:
        app.record_disclosure(terms=disclosure_terms(decision), ctx=ctx)
    assert set(caught.value.extra["mismatches"]) == {"labels", "obligations_met"}
    done = app.record_disclosure(
        terms=disclosure_terms(decision, labels=[], obligations_met=["redact"]), ctx=ctx
    )
    assert done["labels"] == []
    assert done["obligations_met"] == [{"code": "redact", "labels": ["PSY"]}]


def test_a_disclosure_cannot_be_recorded_before_it_is_made(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    active_consent(app, ctx)
    decision = app.decide(request=request(), ctx=ctx)
    later = NOW + dt.timedelta(days=1)
    with pytest.raises(RuleBroken):
        app.record_disclosure(terms=disclosure_terms(decision, disclosed_at=later), ctx=ctx)


def test_a_revoked_recipient_is_no_longer_permitted(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx, recipients=[DETOX, SISTER])
    app.change_consent(consent["consent_id"], "revoke", ctx=ctx, recipient_id=SISTER["id"])
    sister = app.decide(request=request(recipient=Recipient(**SISTER)), ctx=ctx)
    detox = app.decide(request=request(), ctx=ctx)
    assert (sister["outcome"], detox["outcome"]) == ("DENY", "PERMIT")
    assert sister["basis"]["rule"] == "recipient-revoked"
    assert detox["basis"]["consent_version"] == 3
