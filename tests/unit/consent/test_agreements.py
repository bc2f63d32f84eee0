"""The couple's information-sharing agreement: drafting, signing, revising, deciding by it."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, RuleBroken
from services.consent.application import ConsentApplication
from services.consent.domain.commands import Decide, DraftAgreement, ReviseAgreement, SignAgreement
from services.consent.domain.terms import Recipient
from services.consent.projections import DecisionFilter
from tests.unit.consent.support_builders import request

SIGNED = dt.date(2026, 11, 1)


def signed_agreement(app: ConsentApplication, ctx: CommandContext, mode: str) -> dict[str, object]:
    drafted = app.draft_agreement(
        ctx=ctx,
        command=DraftAgreement(partner_ids=["person-a", "person-b"], mode=mode, carve_outs=None),
    )
    app.sign_agreement(
        ctx=ctx,
        agreement_id=drafted["agreement_id"],
        command=SignAgreement(partner_id="person-a", signed_on=SIGNED),
    )
    return app.sign_agreement(
        ctx=ctx,
        agreement_id=drafted["agreement_id"],
        command=SignAgreement(partner_id="person-b", signed_on=SIGNED),
    )


def partner_decision(app: ConsentApplication, ctx: CommandContext) -> dict[str, object]:
    return app.decide(
        ctx=ctx,
        command=Decide(
            request=request(
                recipient=Recipient(kind="partner", id="person-b"),
                categories=frozenset({"individual-session"}),
                individual_session=True,
            )
        ),
    )


def test_terms_are_not_in_force_until_both_partners_sign(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    drafted = app.draft_agreement(
        ctx=ctx,
        command=DraftAgreement(
            partner_ids=["person-a", "person-b"], mode="no-secrets", carve_outs=None
        ),
    )
    one = app.sign_agreement(
        ctx=ctx,
        agreement_id=drafted["agreement_id"],
        command=SignAgreement(partner_id="person-a", signed_on=SIGNED),
    )
    assert one["in_force"] is None
    both = app.sign_agreement(
        ctx=ctx,
        agreement_id=drafted["agreement_id"],
        command=SignAgreement(partner_id="person-b", signed_on=SIGNED),
    )
    assert both["in_force"]["mode"] == "no-secrets"
    assert both["in_force"]["carve_outs"] == [
        "court-order",
        "imminent-safety-threat",
        "mandated-reporting",
    ]


def test_a_new_version_stays_pending_until_both_sign_and_the_old_one_stays_in_force(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    agreement = signed_agreement(app, ctx, "no-secrets")
    agreement_id = agreement["agreement_id"]
    app.revise_agreement(
        ctx=ctx, agreement_id=agreement_id, command=ReviseAgreement(mode="strict", carve_outs=None)
    )
    app.sign_agreement(
        ctx=ctx,
        agreement_id=agreement_id,
        command=SignAgreement(partner_id="person-a", signed_on=SIGNED),
    )
    assert partner_decision(app, ctx)["outcome"] == "PERMIT"
    app.sign_agreement(
        ctx=ctx,
        agreement_id=agreement_id,
        command=SignAgreement(partner_id="person-b", signed_on=SIGNED),
    )
    decision = partner_decision(app, ctx)
    assert decision["outcome"] == "DENY"
    assert decision["basis"]["rule"] == "agreement-strict"
    assert decision["basis"]["agreement_version"] == 6


def test_a_partner_cannot_sign_the_same_terms_twice(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    agreement = signed_agreement(app, ctx, "strict")
    with pytest.raises(Conflict):
        app.sign_agreement(
            ctx=ctx,
            agreement_id=agreement["agreement_id"],
            command=SignAgreement(partner_id="person-a", signed_on=SIGNED),
        )


def test_only_a_partner_of_the_agreement_can_sign_it(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    agreement = signed_agreement(app, ctx, "strict")
    with pytest.raises(RuleBroken) as caught:
        app.sign_agreement(
            ctx=ctx,
            agreement_id=agreement["agreement_id"],
            command=SignAgreement(partner_id="person-z", signed_on=SIGNED),
        )
    assert "partner_id" in caught.value.extra["errors"]


def test_a_couple_has_one_agreement_which_is_revised_not_duplicated(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    signed_agreement(app, ctx, "strict")
    with pytest.raises(Conflict):
        app.draft_agreement(
            ctx=ctx,
            command=DraftAgreement(
                partner_ids=["person-b", "person-a"], mode="strict", carve_outs=None
            ),
        )


def test_an_unknown_mode_or_carve_out_names_the_field(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    with pytest.raises(RuleBroken) as caught:
        app.draft_agreement(
            ctx=ctx,
            command=DraftAgreement(
                partner_ids=["person-a", "person-b"], mode="open", carve_outs=["gossip"]
            ),
        )
    assert set(caught.value.extra["errors"]) == {"mode", "carve_outs"}


def test_a_strict_agreement_denies_the_partner_and_records_the_denial(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    signed_agreement(app, ctx, "strict")
    decision = partner_decision(app, ctx)
    assert decision["outcome"] == "DENY"
    assert (
        app.decisions(tenant=ctx.tenant, query=DecisionFilter(outcome="DENY")).rows[0][
            "decision_id"
        ]
        == decision["decision_id"]
    )
