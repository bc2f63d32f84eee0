"""Consent directives through the application: lifecycle, Part 2 elements, history."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, InvalidTransition, NotFound, RuleBroken, StaleVersion
from services.consent.application import ConsentApplication
from services.consent.domain.commands import (
    ActivateConsent,
    Decide,
    ExpireConsent,
    MarkConsentEnteredInError,
    RecordConsent,
    RevokeConsent,
)
from tests.unit.consent.support_builders import (
    DETOX,
    SISTER,
    active_consent,
    consent_terms,
    context,
    part2_terms,
    request,
)


def test_a_new_consent_is_a_draft_filed_under_its_person(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    created = app.create_consent(ctx=ctx, command=RecordConsent(terms=consent_terms()))
    assert created["status"] == "draft"
    assert [str(c.id) for c in app.consents_of(ctx.tenant, "person-a")] == [created["consent_id"]]


def test_a_part2_consent_missing_elements_is_rejected_naming_every_one(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    terms = part2_terms(
        disclosers=[],
        description=None,
        end=None,
        signature=None,
        revocation_right_acknowledged=False,
    )
    with pytest.raises(RuleBroken) as caught:
        app.create_consent(ctx=ctx, command=RecordConsent(terms=terms))
    assert set(caught.value.extra["errors"]) == {
        "disclosers",
        "description",
        "expiry",
        "revocation_right_acknowledged",
        "signature.signed_by",
        "signature.signed_on",
    }


def test_a_part2_consent_with_every_element_is_labelled_part2(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    created = app.create_consent(ctx=ctx, command=RecordConsent(terms=part2_terms()))
    assert created["part2"] is True
    assert "42CFRPart2" in created["labels"]


def test_a_part2_general_designation_is_allowed_only_for_treatment_payment_operations(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    general = [{"kind": "provider", "id": None, "designation": "my treating providers"}]
    app.create_consent(
        ctx=ctx, command=RecordConsent(terms=part2_terms(recipients=general, purposes=["TREAT"]))
    )
    with pytest.raises(RuleBroken) as caught:
        app.create_consent(
            ctx=ctx,
            command=RecordConsent(terms=part2_terms(recipients=general, purposes=["FAMRQT"])),
        )
    assert "recipients" in caught.value.extra["errors"]


def test_sud_counseling_notes_need_their_own_part2_consent(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    with pytest.raises(RuleBroken) as caught:
        app.create_consent(
            ctx=ctx,
            command=RecordConsent(
                terms=part2_terms(categories=["sud-counseling-notes", "assessment"])
            ),
        )
    assert "categories" in caught.value.extra["errors"]


def test_unknown_codes_are_rejected_naming_the_field_and_the_allowed_values(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    with pytest.raises(RuleBroken) as caught:
        app.create_consent(
            ctx=ctx,
            command=RecordConsent(
                terms=consent_terms(purposes=["GOSSIP"], provisions=[{"type": "maybe"}])
            ),
        )
    errors = caught.value.extra["errors"]
    assert "TREAT" in errors["purposes"]
    assert "provisions[0].type" in errors


def test_an_unsigned_consent_cannot_be_activated(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    created = app.create_consent(
        ctx=ctx, command=RecordConsent(terms=consent_terms(signature=None))
    )
    with pytest.raises(RuleBroken):
        app.change_consent(ctx=ctx, consent_id=created["consent_id"], command=ActivateConsent())


def test_revoking_one_recipient_keeps_the_others(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx, recipients=[DETOX, SISTER])
    revoked = app.change_consent(
        ctx=ctx,
        consent_id=consent["consent_id"],
        command=RevokeConsent(in_writing=True, recipient_id=SISTER["id"]),
    )
    assert revoked["status"] == "active"
    assert [r["id"] for r in revoked["recipients"]] == [DETOX["id"]]
    assert [r["id"] for r in revoked["revoked_recipients"]] == [SISTER["id"]]


def test_a_part2_consent_is_revoked_only_in_writing(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    created = app.create_consent(ctx=ctx, command=RecordConsent(terms=part2_terms()))
    app.change_consent(ctx=ctx, consent_id=created["consent_id"], command=ActivateConsent())
    with pytest.raises(RuleBroken):
        app.change_consent(
            ctx=ctx, consent_id=created["consent_id"], command=RevokeConsent(in_writing=False)
        )
    revoked = app.change_consent(
        ctx=ctx, consent_id=created["consent_id"], command=RevokeConsent(in_writing=True)
    )
    assert (revoked["status"], revoked["status_reason"]) == ("inactive", "revoked")


def test_a_revoked_consent_cannot_be_activated_again(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx)
    app.change_consent(ctx=ctx, consent_id=consent["consent_id"], command=RevokeConsent())
    with pytest.raises(InvalidTransition):
        app.change_consent(ctx=ctx, consent_id=consent["consent_id"], command=ActivateConsent())


def test_a_consent_expires_only_after_its_end_date_or_its_expiry_event(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx)
    with pytest.raises(Conflict):
        app.change_consent(ctx=ctx, consent_id=consent["consent_id"], command=ExpireConsent())
    app.clock = lambda: dt.datetime(2027, 1, 2, tzinfo=dt.UTC)  # type: ignore[method-assign]
    expired = app.change_consent(ctx=ctx, consent_id=consent["consent_id"], command=ExpireConsent())
    assert expired["status_reason"] == "expired"


def test_a_change_dated_in_the_future_is_refused_naming_the_field(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx)
    with pytest.raises(RuleBroken) as caught:
        app.change_consent(
            ctx=ctx, consent_id=consent["consent_id"], command=RevokeConsent(on=dt.date(2030, 1, 1))
        )
    assert "on" in caught.value.extra["errors"]


def test_a_stale_if_match_version_is_refused(app: ConsentApplication, ctx: CommandContext) -> None:
    created = app.create_consent(ctx=ctx, command=RecordConsent(terms=consent_terms()))
    with pytest.raises(StaleVersion):
        app.change_consent(
            ctx=ctx, consent_id=created["consent_id"], command=ActivateConsent(), expected_version=7
        )


def test_another_practice_cannot_read_the_consent(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    created = app.create_consent(ctx=ctx, command=RecordConsent(terms=consent_terms()))
    with pytest.raises(NotFound):
        app.get_consent(tenant="practice-2", consent_id=created["consent_id"])
    with pytest.raises(NotFound):
        app.change_consent(
            ctx=context(tenant="practice-2"),
            consent_id=created["consent_id"],
            command=ActivateConsent(),
        )


def test_history_lists_every_change_with_who_and_version(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx)
    history = app.consent_history(tenant=ctx.tenant, consent_id=consent["consent_id"])
    assert [h["event"] for h in history] == ["ConsentCreated", "ConsentActivated"]
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["meta"]["actor_id"] == ctx.actor_id
    first = app.get_consent(tenant=ctx.tenant, consent_id=consent["consent_id"], version=1)
    assert first["status"] == "draft"


def test_a_consent_entered_in_error_never_permits_and_keeps_its_history(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx)
    voided = app.change_consent(
        ctx=ctx, consent_id=consent["consent_id"], command=MarkConsentEnteredInError()
    )
    assert voided["status"] == "entered-in-error"
    assert app.decide(ctx=ctx, command=Decide(request=request()))["outcome"] == "NO_CONSENT"
    with pytest.raises(InvalidTransition):
        app.change_consent(ctx=ctx, consent_id=consent["consent_id"], command=ActivateConsent())
    assert len(app.consent_history(tenant=ctx.tenant, consent_id=consent["consent_id"])) == 3
