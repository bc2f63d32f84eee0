"""Disclosures recorded late with their real date and basis, referral sends, and accountings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from contracts.records import InboundRecord
from services.common.context import CommandContext
from services.common.errors import Conflict, RuleBroken
from services.consent import reactions
from services.consent.application import ConsentApplication
from services.consent.domain import Accounting
from services.consent.domain.commands import (
    ActivateConsent,
    Decide,
    ProduceAccounting,
    RecordConsent,
    RecordLateDisclosure,
)
from tests.unit.consent.support_builders import DETOX, NOW, context, part2_terms, request

COURT = {
    "kind": "organization",
    "id": "county-court",
    "name": "County Court",
    "address": "1 Court Sq",
}


def years_ago(years: float) -> dt.datetime:
    return NOW - dt.timedelta(days=round(365.25 * years))


def late(**overrides: Any) -> dict[str, Any]:
    terms: dict[str, Any] = {
        "person_id": "person-a",
        "recipient": COURT,
        "description": "treatment summary",
        "categories": ["treatment-plan"],
        "labels": [],
        "purpose": "COC",
        "disclosed_at": years_ago(5),
        "obligations_met": [],
        "disclosed_by": "clin-old",
        "source": "import",
        "basis": {"kind": "legal-exception", "exception": "court-order", "reference": "CV-1"},
    }
    return {**terms, **overrides}


def paper_part2(when: dt.datetime) -> dict[str, Any]:
    return late(
        recipient=DETOX,
        categories=["substance-use"],
        purpose="TREAT",
        disclosed_at=when,
        basis={
            "kind": "paper-consent",
            "signed_on": (when - dt.timedelta(days=3)).date(),
            "reference": "paper file 17",
        },
    )


def test_a_late_disclosure_keeps_its_real_date_basis_and_who_recorded_it(
    app: ConsentApplication,
) -> None:
    recorder = context(role="compliance", actor="comp-1")
    recorded = app.record_late_disclosure(ctx=recorder, command=RecordLateDisclosure(terms=late()))
    assert recorded["disclosed_at"] == years_ago(5)
    assert (recorded["recorded_late"], recorded["recorded_by"]) == (True, "comp-1")
    assert recorded["disclosed_by"] == "clin-old"
    assert recorded["basis"]["kind"] == "legal-exception"
    assert recorded["basis_rule"] == "carve-out:court-order"


def test_a_late_paper_consent_disclosure_derives_its_labels(app: ConsentApplication) -> None:
    recorded = app.record_late_disclosure(
        ctx=context(), command=RecordLateDisclosure(terms=paper_part2(years_ago(1)))
    )
    assert recorded["part2"] is True
    assert recorded["labels"] == ["42CFRPart2", "ETH"]


def test_a_paper_consent_signed_after_the_disclosure_is_no_basis(
    app: ConsentApplication,
) -> None:
    terms = paper_part2(years_ago(1))
    terms["basis"]["signed_on"] = NOW.date()
    with pytest.raises(RuleBroken) as caught:
        app.record_late_disclosure(ctx=context(), command=RecordLateDisclosure(terms=terms))
    assert "basis.signed_on" in caught.value.extra["errors"]


def test_a_late_disclosure_on_a_decision_must_fit_it(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = app.create_consent(ctx=ctx, command=RecordConsent(terms=part2_terms()))
    app.change_consent(ctx=ctx, consent_id=consent["consent_id"], command=ActivateConsent())
    decision = app.decide(
        ctx=ctx, command=Decide(request=request(categories=frozenset({"substance-use"})))
    )
    basis = {"kind": "decision", "decision_id": decision["decision_id"]}
    made = NOW + dt.timedelta(hours=1)
    fitting = late(
        recipient=DETOX,
        categories=["substance-use"],
        purpose="TREAT",
        disclosed_at=made,
        disclosed_by="clin-1",
        basis=basis,
        obligations_met=["attach-part2-notice"],
    )
    app.clock = lambda: NOW + dt.timedelta(days=3)  # type: ignore[method-assign]
    recorded = app.record_late_disclosure(
        ctx=context(actor="clerk-1"), command=RecordLateDisclosure(terms=fitting)
    )
    assert (recorded["recorded_late"], recorded["part2"]) == (True, True)
    with pytest.raises(Conflict) as caught:
        app.record_late_disclosure(
            ctx=ctx,
            command=RecordLateDisclosure(
                terms={**fitting, "disclosed_at": NOW + dt.timedelta(days=2)}
            ),
        )
    assert set(caught.value.extra["mismatches"]) == {"disclosed_at"}


def test_a_late_disclosure_cannot_be_in_the_future(app: ConsentApplication) -> None:
    with pytest.raises(RuleBroken):
        app.record_late_disclosure(
            ctx=context(),
            command=RecordLateDisclosure(terms=late(disclosed_at=NOW + dt.timedelta(days=1))),
        )


def test_both_windows_and_the_exclusions_apply_to_late_disclosures(
    app: ConsentApplication,
) -> None:
    ctx = context(role="compliance", actor="comp-1")
    for when in (years_ago(2), years_ago(4)):
        app.record_late_disclosure(ctx=ctx, command=RecordLateDisclosure(terms=paper_part2(when)))
    for when in (years_ago(5), years_ago(7)):
        app.record_late_disclosure(
            ctx=ctx, command=RecordLateDisclosure(terms=late(disclosed_at=when))
        )
    accounting = app.account(
        ctx=ctx, person_id="person-a", command=ProduceAccounting(format="json")
    )
    lines = [(r["disclosed_at"], r["regimes"]) for r in accounting["items"]]
    assert lines == [(years_ago(5), ["HIPAA"]), (years_ago(2), ["42CFRPart2"])]
    [excluded] = accounting["excluded"]
    assert excluded["disclosed_at"] == years_ago(4)
    assert excluded["excluded"]["42CFRPart2"].startswith("older than the 42CFRPart2 window")


def test_producing_an_accounting_is_recorded(app: ConsentApplication) -> None:
    ctx = context(role="compliance", actor="comp-1")
    app.record_late_disclosure(ctx=ctx, command=RecordLateDisclosure(terms=late()))
    start = years_ago(6.5)
    accounting = app.account(
        ctx=ctx, person_id="person-a", command=ProduceAccounting(start=start, format="csv")
    )
    record = app.load(Accounting, accounting["accounting_id"], ctx.tenant)
    assert (record.person_id, record.requested_by, record.format) == ("person-a", "comp-1", "csv")
    assert record.period_from == accounting["window"]["from"] > start
    assert record.disclosure_ids == [r["disclosure_id"] for r in accounting["items"]]


def sent(decision_id: str, *, ce_id: str = "ce-1", tenant: str = "practice-1") -> InboundRecord:
    body = {
        "client_id": "person-a",
        "decision_id": decision_id,
        "referral_type": "detox",
        "organization": {"id": "org-detox", "name": "Harbor Detox", "address": "1 Harbor Rd"},
        "at": NOW.isoformat(),
        "security_labels": ["42CFRPart2", "ETH", "R"],
    }
    return InboundRecord(
        topic="careledger.referral",
        partition=0,
        offset=1,
        ce_id=ce_id,
        ce_type="careledger.referral.ReferralSent.v1",
        subject="r1",
        tenant=tenant,
        body=body,
        headers={"ce_actor": "clin-1"},
    )


def test_a_referral_sent_is_one_disclosure_on_its_decision_with_its_labels(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = app.create_consent(ctx=ctx, command=RecordConsent(terms=part2_terms()))
    app.change_consent(ctx=ctx, consent_id=consent["consent_id"], command=ActivateConsent())
    decision = app.decide(
        ctx=ctx, command=Decide(request=request(categories=frozenset({"substance-use"})))
    )
    aggregates = reactions.react(app, sent(decision["decision_id"]))
    app.save_as(ctx, *aggregates)
    assert reactions.react(app, sent(decision["decision_id"])) == []  # the same record again
    [disclosure] = app.disclosures_of(ctx.tenant, "person-a")
    assert disclosure["decision_id"] == decision["decision_id"]
    assert disclosure["recipient"] == {**DETOX, "address": "1 Harbor Rd"}
    assert (disclosure["part2"], disclosure["source"], disclosure["problems"]) == (
        True,
        "referral-send",
        {},
    )
    assert set(disclosure["labels"]) == {"42CFRPart2", "ETH", "R"}


def test_a_referral_sent_on_an_unknown_decision_is_still_accounted_with_its_problem(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    app.save_as(ctx, *reactions.react(app, sent("no-such-decision", ce_id="ce-2")))
    [disclosure] = app.disclosures_of(ctx.tenant, "person-a")
    assert disclosure["problems"] == {"decision_id": "no such decision in this practice"}
    assert disclosure["part2"] is True
