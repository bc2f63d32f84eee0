"""A PERMIT in use: valid for a bounded time and its actor; break-glass and carve-outs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, Forbidden, RuleBroken
from services.consent.application import ConsentApplication
from services.consent.domain.commands import (
    ActivateConsent,
    Decide,
    DraftAgreement,
    RecordConsent,
    RecordDisclosure,
    RevokeConsent,
    SignAgreement,
)
from services.consent.domain.terms import PART2_NOTICE, BreakGlass, CarveOut, Recipient
from services.consent.projections import DecisionFilter
from tests.unit.consent.support_builders import (
    DETOX,
    NOW,
    active_consent,
    context,
    emergency,
    emergency_request,
    part2_terms,
    request,
)

PARTNER = Recipient("partner", "person-b")


def disclose(decision: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    terms: dict[str, Any] = {
        "person_id": decision["person_id"],
        "decision_id": decision["decision_id"],
        "recipient": decision["recipient"],
        "description": "intake assessment",
        "categories": decision["categories"],
        "labels": [],
        "purpose": decision["purpose"],
        "disclosed_at": NOW,
        "obligations_met": ["attach-part2-notice", "redact"],
    }
    return {**terms, **overrides}


def part2_permit(app: ConsentApplication, ctx: CommandContext) -> tuple[dict[str, Any], Any]:
    consent = app.create_consent(ctx=ctx, command=RecordConsent(terms=part2_terms()))
    consent = app.change_consent(
        ctx=ctx, consent_id=consent["consent_id"], command=ActivateConsent()
    )
    asked = request(categories=frozenset({"substance-use"}))
    return app.decide(ctx=ctx, command=Decide(request=asked)), consent


def mismatches(app: ConsentApplication, terms: dict[str, Any], ctx: CommandContext) -> set[str]:
    with pytest.raises(Conflict) as caught:
        app.record_disclosure(ctx=ctx, command=RecordDisclosure(terms=terms))
    return set(caught.value.extra["mismatches"])


# -- a decision is valid for a bounded time and for the actor who asked -------------------------


def test_a_decision_is_valid_for_24_hours_by_default(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision, _ = part2_permit(app, ctx)
    assert decision["valid_until"] == NOW + dt.timedelta(hours=24)
    app.clock = lambda: NOW + dt.timedelta(hours=25)  # type: ignore[method-assign]
    found = mismatches(app, disclose(decision, disclosed_at=NOW + dt.timedelta(hours=25)), ctx)
    assert found == {"decision_id", "disclosed_at"}


def test_the_validity_is_configurable(app: ConsentApplication, ctx: CommandContext) -> None:
    app.decision_validity = dt.timedelta(minutes=30)
    decision, _ = part2_permit(app, ctx)
    assert decision["valid_until"] == NOW + dt.timedelta(minutes=30)


def test_only_the_clinician_who_asked_may_disclose_on_the_decision(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision, _ = part2_permit(app, ctx)
    assert mismatches(app, disclose(decision), context(actor="clin-2")) == {"disclosed_by"}


def test_a_disclosure_after_the_consent_was_revoked_is_refused(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision, consent = part2_permit(app, ctx)
    app.change_consent(
        ctx=ctx, consent_id=consent["consent_id"], command=RevokeConsent(in_writing=True)
    )
    assert mismatches(app, disclose(decision), ctx) == {"consent"}


def test_a_disclosure_takes_its_labels_and_part2_status_from_the_decision(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision, _ = part2_permit(app, ctx)
    recorded = app.record_disclosure(
        ctx=ctx, command=RecordDisclosure(terms=disclose(decision, labels=[]))
    )
    assert recorded["part2"] is True
    assert recorded["labels"] == ["42CFRPart2", "ETH"]
    assert recorded["obligations_met"] == [{"code": "attach-part2-notice", "text": PART2_NOTICE}]


def test_the_part2_notice_must_have_been_attached(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision, _ = part2_permit(app, ctx)
    assert mismatches(app, disclose(decision, obligations_met=[]), ctx) == {"obligations_met"}


# -- break-glass ------------------------------------------------------------------------------


def test_break_glass_is_for_clinicians_only(app: ConsentApplication) -> None:
    with pytest.raises(Forbidden):
        app.decide(
            ctx=context(role="coordinator", actor="co-1"),
            command=Decide(request=emergency_request()),
        )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"recipient": Recipient("payer", "payer-1")}, "recipient.kind"),
        ({"recipient": Recipient(**DETOX)}, "recipient.kind"),
        ({"purpose": "HPAYMT"}, "purpose"),
        ({"categories": frozenset({"sud-counseling-notes"})}, "categories"),
        ({"categories": frozenset({"psychotherapy-notes"})}, "categories"),
        (
            {"break_glass": BreakGlass("court-order", "a subpoena arrived for the records")},
            "break_glass.kind",
        ),
    ],
)
def test_break_glass_is_treatment_by_a_provider_and_never_counselling_notes(
    app: ConsentApplication, ctx: CommandContext, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(RuleBroken) as caught:
        app.decide(ctx=ctx, command=Decide(request=emergency_request(**overrides)))
    assert field in caught.value.extra["errors"]


def test_break_glass_for_part2_records_needs_the_2_51_details(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    bare = BreakGlass("medical-emergency", emergency().justification)
    with pytest.raises(RuleBroken) as caught:
        app.decide(
            ctx=ctx,
            command=Decide(
                request=emergency_request(categories=frozenset({"substance-use"}), break_glass=bare)
            ),
        )
    assert {
        "break_glass.received_by",
        "break_glass.affiliation",
        "break_glass.nature_of_emergency",
    } <= set(caught.value.extra["errors"])
    decision = app.decide(
        ctx=ctx, command=Decide(request=emergency_request(categories=frozenset({"substance-use"})))
    )
    assert decision["outcome"] == "PERMIT"
    assert decision["break_glass"]["affiliation"] == "County General emergency department"
    assert [d["decision_id"] for d in app.review_queue(tenant=ctx.tenant).rows] == [
        decision["decision_id"]
    ]


# -- carve-outs -------------------------------------------------------------------------------


def threat(kind: str = "imminent-safety-threat") -> CarveOut:
    return CarveOut(kind, "stated a plan to harm the partner tonight, duty to warn")


def couple(app: ConsentApplication, ctx: CommandContext, carve_outs: list[str] | None) -> None:
    agreement = app.draft_agreement(
        ctx=ctx,
        command=DraftAgreement(
            partner_ids=["person-a", "person-b"], mode="strict", carve_outs=carve_outs
        ),
    )
    for partner in ("person-a", "person-b"):
        app.sign_agreement(
            ctx=ctx,
            agreement_id=agreement["agreement_id"],
            command=SignAgreement(partner_id=partner, signed_on=None),
        )


def session_to_partner(**extra: Any) -> Any:
    return request(recipient=PARTNER, categories=frozenset({"individual-session"}), **extra)


def test_a_carve_out_the_agreement_lists_permits_on_its_own_rule_for_review(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    couple(app, ctx, None)
    decision = app.decide(ctx=ctx, command=Decide(request=session_to_partner(carve_out=threat())))
    assert (decision["outcome"], decision["basis"]["rule"]) == (
        "PERMIT",
        "carve-out:imminent-safety-threat",
    )
    assert decision["review_required"] and decision["break_glass"] is None
    assert (
        app.decisions(tenant=ctx.tenant, query=DecisionFilter(carve_out=True)).rows[0][
            "decision_id"
        ]
        == decision["decision_id"]
    )


def test_a_carve_out_the_agreement_does_not_list_is_denied(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    couple(app, ctx, ["court-order"])
    decision = app.decide(ctx=ctx, command=Decide(request=session_to_partner(carve_out=threat())))
    assert (decision["outcome"], decision["basis"]["rule"]) == (
        "DENY",
        "carve-out-not-in-agreement",
    )


def test_without_an_agreement_a_partner_carve_out_is_denied(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    decision = app.decide(ctx=ctx, command=Decide(request=session_to_partner(carve_out=threat())))
    assert decision["basis"]["rule"] == "carve-out-needs-agreement"


def test_a_carve_out_never_releases_part2_records(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    report = request(
        categories=frozenset({"substance-use"}), carve_out=threat("mandated-reporting")
    )
    decision = app.decide(ctx=ctx, command=Decide(request=report))
    assert (decision["outcome"], decision["basis"]["rule"]) == ("DENY", "part2-consent-required")


def test_a_mandated_report_to_an_authority_permits_for_review(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    active_consent(app, ctx, provision_type="deny")  # the person's wishes do not stop the law
    report = request(categories=frozenset({"assessment"}), carve_out=threat("mandated-reporting"))
    decision = app.decide(ctx=ctx, command=Decide(request=report))
    assert (decision["outcome"], decision["basis"]) == (
        "PERMIT",
        {"rule": "carve-out:mandated-reporting"},
    )
