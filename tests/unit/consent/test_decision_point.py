"""The decision point cannot be talked into a PERMIT: labels, recipients, agreements, ids."""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
import uuid
from typing import Any

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, RuleBroken
from services.common.ids import canonical_id, stable_id
from services.consent.application import ConsentApplication
from services.consent.domain import PersonFile, SharingAgreement
from services.consent.domain.agreement import agreement_id, legacy_agreement_id
from services.consent.domain.commands import Decide, DraftAgreement, RevokeConsent, SignAgreement
from services.consent.domain.policy import decide
from services.consent.domain.terms import AgreementTerms, DecisionRequest, Recipient, Revocation
from services.consent.records import RecordLabels, RecordRef
from tests.unit.consent.support_builders import (
    DETOX,
    SISTER,
    active_consent,
    context,
    request,
    terms_of,
)

EVIL = {"kind": "provider", "id": "Dr-Evil"}
ANY_PROVIDER = {"kind": "provider", "id": None, "designation": "my treating providers"}


# -- sensitivity is derived on the server -------------------------------------------------------


def test_substance_use_sent_without_labels_meets_a_nested_eth_deny() -> None:
    consent = terms_of(
        part2=True,
        categories=["substance-use"],
        labels=["42CFRPart2"],
        provisions=[{"type": "deny", "labels": ["ETH"]}],
    )
    outcome = decide(request(categories=frozenset({"substance-use"})), [consent])
    assert outcome.outcome == "DENY"
    assert any("implied" in line for line in outcome.trace)


def test_substance_use_without_the_part2_label_still_needs_a_part2_consent() -> None:
    ordinary = terms_of(categories=["substance-use", "assessment"])
    assert ordinary.part2, "a consent for substance-use records is a Part 2 consent"
    plain = dataclasses.replace(ordinary, part2=False)
    outcome = decide(request(categories=frozenset({"substance-use"})), [plain])
    assert (outcome.outcome, outcome.basis) == ("DENY", {"rule": "part2-consent-required"})


def test_a_permit_for_substance_use_carries_the_redisclosure_notice_undeclared() -> None:
    consent = terms_of(part2=True, categories=["substance-use"], labels=["42CFRPart2", "ETH"])
    outcome = decide(request(categories=frozenset({"substance-use"})), [consent])
    assert outcome.outcome == "PERMIT"
    assert [o["code"] for o in outcome.obligations] == ["attach-part2-notice"]


@pytest.mark.parametrize(
    ("category", "labels"),
    [
        ("individual-session", {"PSY"}),
        ("psychotherapy-notes", {"PSY", "PSYTHPN"}),
        ("intimate-partner-violence", {"SDV"}),
        ("sud-counseling-notes", {"42CFRPart2", "ETH"}),
    ],
)
def test_each_category_implies_its_labels(category: str, labels: set[str]) -> None:
    assert request(categories=frozenset({category})).effective_labels == labels


def test_declared_labels_can_only_add(app: ConsentApplication, ctx: CommandContext) -> None:
    decision = app.decide(ctx=ctx, command=Decide(request=request(labels=frozenset({"HIV"}))))
    assert decision["labels"] == ["HIV"]
    implied = app.decide(
        ctx=ctx, command=Decide(request=request(categories=frozenset({"diagnosis"})))
    )
    assert implied["labels"] == ["PSY"] and implied["declared_labels"] == []


class FakeRecords:
    def __init__(self, **labels: set[str]) -> None:
        self.known = labels

    def labels(self, refs: list[RecordRef], *, token: str | None) -> list[RecordLabels]:
        return [RecordLabels(r.kind, r.id, frozenset(self.known[r.id])) for r in refs]


def test_the_labels_of_named_records_count(app: ConsentApplication, ctx: CommandContext) -> None:
    active_consent(app, ctx)
    app.records = FakeRecords(plan1={"SDV", "R"})
    decision = app.decide(
        ctx=ctx, command=Decide(request=request()), records=[RecordRef("plan", "plan1")]
    )
    assert set(decision["labels"]) == {"SDV", "R"}
    assert decision["records"] == [
        {"kind": "plan", "id": "plan1", "labels": ["R", "SDV"], "individual_session": False}
    ]
    assert {"code": "redact", "labels": ["R", "SDV"]} in decision["obligations"]


# -- recipients are typed and canonical ---------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["dr-evil", " Dr-Evil", "DR-EVIL ", "Dr-Evil\t", "dr-\u0065vil"]
)
def test_a_deny_on_a_recipient_stops_every_spelling_of_it(spelling: str) -> None:
    consent = terms_of(
        recipients=[ANY_PROVIDER], provisions=[{"type": "deny", "recipients": [EVIL]}]
    )
    outcome = decide(request(recipient=Recipient("provider", spelling)), [consent])
    assert outcome.outcome == "DENY"


def test_unicode_forms_of_one_id_are_one_recipient() -> None:
    composed, decomposed = "jos\u00e9", unicodedata.normalize("NFD", "jos\u00e9")
    assert composed != decomposed and canonical_id(composed) == canonical_id(decomposed)


def test_an_unknown_or_ambiguous_recipient_is_a_422_saying_what_is_accepted(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    cases = [
        (Recipient("neighbour", "x"), "recipient.kind"),
        (Recipient("provider", "   "), "recipient.id"),
        (Recipient("provider", None, designation="any doctor"), "recipient.id"),
        (Recipient("provider", "dr-1", designation="any doctor"), "recipient.designation"),
        (Recipient("provider", "dr\x00evil"), "recipient.id"),
    ]
    for recipient, field in cases:
        with pytest.raises(RuleBroken) as caught:
            app.decide(ctx=ctx, command=Decide(request=request(recipient=recipient)))
        assert field in caught.value.extra["errors"], recipient
    assert app.decisions(tenant=ctx.tenant).rows == []


def test_consents_store_canonical_recipient_ids(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx, recipients=[{**DETOX, "id": " ORG-Detox "}, SISTER])
    assert consent["recipients"][0]["id"] == "org-detox"
    revoked = app.change_consent(
        ctx=ctx, consent_id=consent["consent_id"], command=RevokeConsent(recipient_id="Org-Detox")
    )
    assert [r["id"] for r in revoked["revoked_recipients"]] == ["org-detox"]


# -- revocation is a deny -------------------------------------------------------------------------


def test_a_revoked_recipient_is_denied_whatever_general_designation_remains(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    consent = active_consent(app, ctx, recipients=[ANY_PROVIDER, EVIL])
    app.change_consent(
        ctx=ctx, consent_id=consent["consent_id"], command=RevokeConsent(recipient_id="dr-evil")
    )
    evil = app.decide(
        ctx=ctx, command=Decide(request=request(recipient=Recipient("provider", " DR-EVIL")))
    )
    other = app.decide(
        ctx=ctx, command=Decide(request=request(recipient=Recipient("provider", "dr-good")))
    )
    assert (evil["outcome"], evil["basis"]["rule"]) == ("DENY", "recipient-revoked")
    assert other["outcome"] == "PERMIT"


def test_a_revoked_recipient_stays_denied_under_another_consents_general_designation(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    first = active_consent(app, ctx, recipients=[EVIL, SISTER])
    active_consent(app, ctx, recipients=[ANY_PROVIDER])
    app.change_consent(
        ctx=ctx, consent_id=first["consent_id"], command=RevokeConsent(recipient_id="dr-evil")
    )
    assert (
        app.decide(ctx=ctx, command=Decide(request=request(recipient=Recipient(**EVIL))))["outcome"]
        == "DENY"
    )


def test_a_consent_signed_after_the_revocation_naming_the_recipient_permits_again() -> None:
    revoked = terms_of(recipients=[EVIL, SISTER])
    revoked = dataclasses.replace(revoked, revocations=(_revocation("2026-06-01"),))
    renewed = terms_of(
        recipients=[EVIL], signature={"signed_by": "person-a", "signed_on": "2026-07-01"}
    )
    by_designation = terms_of(
        recipients=[ANY_PROVIDER], signature={"signed_by": "person-a", "signed_on": "2026-08-01"}
    )
    asked = request(recipient=Recipient(**EVIL))
    assert decide(asked, [revoked, by_designation]).outcome == "DENY"
    assert decide(asked, [revoked, renewed]).outcome == "PERMIT"


def test_an_older_consents_deny_still_applies_to_a_recipient_revoked_and_named_again() -> None:
    eth_denied = [{"type": "deny", "labels": ["ETH"]}]  # nested: for every provider
    older = terms_of(
        recipients=[ANY_PROVIDER, EVIL],
        categories=["substance-use", "assessment"],
        provisions=eth_denied,
    )
    renewed = terms_of(
        recipients=[EVIL],
        categories=["substance-use", "assessment"],
        signature={"signed_by": "person-a", "signed_on": "2026-07-01"},
    )
    asked = request(recipient=Recipient(**EVIL), categories=frozenset({"substance-use"}))
    assert decide(asked, [older, renewed]).outcome == "DENY"
    with_history = dataclasses.replace(older, revocations=(_revocation("2026-06-01"),))
    outcome = decide(asked, [with_history, renewed])
    assert (outcome.outcome, outcome.basis["consent_id"]) == ("DENY", older.consent_id)


def _revocation(day: str) -> Revocation:
    return Revocation(Recipient(**EVIL), dt.date.fromisoformat(day))


# -- partner agreements -------------------------------------------------------------------------


def signed(app: ConsentApplication, ctx: CommandContext, a: str, b: str, mode: str) -> str:
    agreement = app.draft_agreement(
        ctx=ctx, command=DraftAgreement(partner_ids=[a, b], mode=mode, carve_outs=None)
    )
    for partner in (a, b):
        app.sign_agreement(
            ctx=ctx,
            agreement_id=agreement["agreement_id"],
            command=SignAgreement(partner_id=partner, signed_on=None),
        )
    return str(agreement["agreement_id"])


def session_for(partner: str, **extra: Any) -> DecisionRequest:
    return request(
        recipient=Recipient("partner", partner),
        categories=frozenset({"individual-session"}),
        **extra,
    )


def test_a_stored_general_designation_of_partners_permits_no_partner() -> None:
    named_then = terms_of(recipients=[{"kind": "partner", "id": "person-old"}])
    general = (Recipient("partner", None, designation="my partner"),)  # stored before the rule
    legacy_root = dataclasses.replace(named_then.root, recipients=general)
    legacy = dataclasses.replace(named_then, root=legacy_root)
    asked = request(recipient=Recipient("partner", "person-new"))
    assert decide(asked, [legacy]).outcome == "NO_CONSENT"
    named = terms_of(recipients=[{"kind": "partner", "id": "person-new"}])
    assert decide(asked, [legacy, named]).outcome == "PERMIT"


def test_a_new_partner_is_not_permitted_under_the_agreement_with_an_earlier_one(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    signed(app, ctx, "person-a", "person-old", "no-secrets")
    old = app.decide(ctx=ctx, command=Decide(request=session_for("person-old")))
    assert old["outcome"] == "PERMIT"
    new = app.decide(ctx=ctx, command=Decide(request=session_for("person-new")))
    assert (new["outcome"], new["basis"]["rule"]) == ("DENY", "agreement-strict")
    with pytest.raises(RuleBroken) as caught:
        app.decide(
            ctx=ctx,
            command=Decide(request=session_for("person-new"), about_partner_of="person-old"),
        )
    assert "context.about_partner_of" in caught.value.extra["errors"]


def test_an_agreement_not_between_the_person_and_the_partner_is_ignored() -> None:
    other = AgreementTerms("agr-x", 2, "no-secrets", frozenset({"person-a", "person-old"}))
    outcome = decide(session_for("person-new"), [], other)
    assert (outcome.outcome, outcome.basis) == ("DENY", {"rule": "agreement-strict"})


# -- ids are unambiguous and every load checks the tenant ---------------------------------------


def test_ids_of_parts_that_join_alike_differ() -> None:
    space = uuid.uuid4()
    assert stable_id(space, "t", "a:b", "c") != stable_id(space, "t", "a", "b:c")
    assert agreement_id("t1", ["x:p", "q"]) != agreement_id("t1:x", ["p", "q"])
    assert PersonFile.create_id("t1", "x:p") != PersonFile.create_id("t1:x", "p")


def stored_under(cls: type[Any], event: str, ident: uuid.UUID, **fields: Any) -> Any:
    """An aggregate created with a given id (the way ids were derived before)."""
    return cls._create(getattr(cls, event), id=ident, **fields)  # type: ignore[attr-defined]


def test_a_practice_never_decides_under_another_practices_agreement(
    app: ConsentApplication,
) -> None:
    # ("t1", a:x, y) and ("t1:a", x, y) joined with ':' gave one id: t1:a:x:y.
    collision = legacy_agreement_id("t1:a", ["x", "y"])
    assert collision == legacy_agreement_id("t1", ["a:x", "y"])
    other = context(tenant="t1:a")
    agreement = stored_under(
        SharingAgreement,
        "AgreementDrafted",
        collision,
        tenant="t1:a",
        partner_ids=["x", "y"],
        mode="no-secrets",
        carve_outs=[],
    )
    for partner in ("x", "y"):
        agreement.sign(partner_id=partner, signed_on=dt.date(2026, 11, 1))
    app.save_as(other, agreement)
    asked = request(
        person_id="a:x",
        recipient=Recipient("partner", "y"),
        categories=frozenset({"individual-session"}),
    )
    outcome = app.decide(ctx=context(tenant="t1"), command=Decide(request=asked))
    assert (outcome["outcome"], outcome["basis"]["rule"]) == ("DENY", "agreement-strict")


def test_an_agreement_drafted_under_the_legacy_id_is_still_found(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    partners = ["person-a", "person-b"]
    legacy = stored_under(
        SharingAgreement,
        "AgreementDrafted",
        legacy_agreement_id(ctx.tenant, partners),
        tenant=ctx.tenant,
        partner_ids=partners,
        mode="no-secrets",
        carve_outs=[],
    )
    app.save_as(ctx, legacy)
    with pytest.raises(Conflict):
        app.draft_agreement(
            ctx=ctx,
            command=DraftAgreement(partner_ids=partners[::-1], mode="strict", carve_outs=None),
        )
    found = app.couple_agreement(tenant=ctx.tenant, partner_ids=partners)
    assert found["agreement_id"] == str(legacy.id)


def test_a_person_file_of_another_practice_is_never_read(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    intruder = context(tenant="practice-1:x")
    consent = active_consent(app, intruder, person_id="p", recipients=[DETOX])
    collision = PersonFile.legacy_id("practice-1:x", "p")
    assert collision == PersonFile.legacy_id(ctx.tenant, "x:p")
    person_file = stored_under(
        PersonFile, "PersonFileOpened", collision, tenant="practice-1:x", person_id="p"
    )
    person_file.file_consent(consent_id=consent["consent_id"])
    app.save_as(intruder, person_file)
    assert app.consents_of(ctx.tenant, "x:p") == []
    assert (
        app.decide(ctx=ctx, command=Decide(request=request(person_id="x:p")))["outcome"]
        == "NO_CONSENT"
    )
