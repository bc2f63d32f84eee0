"""The decision engine, one rule at a time (pure functions, no store)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.consent.domain.policy import decide
from services.consent.domain.terms import PART2_NOTICE, AgreementTerms, Recipient
from tests.unit.consent.support_builders import DETOX, SISTER, emergency_request, request, terms_of

PARTNER = Recipient(kind="partner", id="person-b")


def agreement(mode: str) -> AgreementTerms:
    return AgreementTerms("agr-1", 3, mode, frozenset({"person-a", "person-b"}))


def partner_request(**overrides: object) -> object:
    fields: dict[str, object] = {
        "recipient": PARTNER,
        "categories": frozenset({"individual-session"}),
        "individual_session": True,
    }
    fields.update(overrides)
    return request(**fields)


def test_a_consent_naming_recipient_purpose_and_categories_permits_citing_its_version() -> None:
    consent = terms_of()
    outcome = decide(request(), [consent])
    assert outcome.outcome == "PERMIT"
    assert outcome.basis == {"consent_id": consent.consent_id, "consent_version": 2}
    assert outcome.trace


def test_no_consent_for_the_recipient_answers_no_consent_with_the_rule() -> None:
    outcome = decide(request(recipient=Recipient(**SISTER)), [terms_of()])
    assert outcome.outcome == "NO_CONSENT"
    assert outcome.basis == {"rule": "no-consent"}


def test_a_category_the_consent_does_not_list_is_not_permitted() -> None:
    outcome = decide(request(categories=frozenset({"diagnosis"})), [terms_of()])
    assert outcome.outcome == "NO_CONSENT"


def test_a_purpose_the_consent_does_not_list_is_not_permitted() -> None:
    assert decide(request(purpose="HPAYMT"), [terms_of()]).outcome == "NO_CONSENT"


def test_a_nested_deny_overrides_the_permit_around_it() -> None:
    consent = terms_of(provisions=[{"type": "deny", "categories": ["assessment"]}])
    outcome = decide(request(), [consent])
    assert outcome.outcome == "DENY"
    assert outcome.basis["consent_id"] == consent.consent_id


def test_a_deny_in_one_consent_overrides_a_permit_in_another() -> None:
    permit = terms_of()
    opt_out = terms_of(provision_type="deny", recipients=[DETOX])
    assert decide(request(), [permit, opt_out]).outcome == "DENY"


def test_a_deny_that_does_not_match_the_request_leaves_the_permit() -> None:
    consent = terms_of(provisions=[{"type": "deny", "purposes": ["HPAYMT"]}])
    assert decide(request(), [consent]).outcome == "PERMIT"


def test_a_revoked_consent_never_permits() -> None:
    assert decide(request(), [terms_of(status="inactive")]).outcome == "NO_CONSENT"


def test_an_expired_consent_never_permits_even_while_still_marked_active() -> None:
    consent = terms_of(end=dt.date(2026, 6, 30))
    outcome = decide(request(), [consent])
    assert outcome.outcome == "NO_CONSENT"
    assert any("expired" in line for line in outcome.trace)


def test_a_consent_not_yet_in_its_period_never_permits() -> None:
    assert decide(request(), [terms_of(start=dt.date(2026, 12, 1))]).outcome == "NO_CONSENT"


def test_labels_the_consent_does_not_cover_are_redacted() -> None:
    outcome = decide(request(labels=frozenset({"PSY"})), [terms_of()])
    assert outcome.outcome == "PERMIT"
    assert {"code": "redact", "labels": ["PSY"]} in outcome.obligations


def test_part2_data_needs_a_part2_consent_and_carries_the_redisclosure_notice() -> None:
    consent = terms_of(part2=True, categories=["substance-use"], labels=["ETH"])
    outcome = decide(
        request(categories=frozenset({"substance-use"}), labels=frozenset({"42CFRPart2"})),
        [consent],
    )
    assert outcome.outcome == "PERMIT"
    assert {"code": "attach-part2-notice", "text": PART2_NOTICE} in outcome.obligations


def test_part2_data_is_denied_when_only_a_non_part2_consent_names_the_recipient() -> None:
    outcome = decide(request(labels=frozenset({"42CFRPart2"})), [terms_of()])
    assert outcome.outcome == "DENY"
    assert outcome.basis == {"rule": "part2-consent-required"}


def test_a_part2_consent_for_the_detox_program_denies_a_family_member() -> None:
    consent = terms_of(part2=True, categories=["substance-use"])
    outcome = decide(
        request(
            recipient=Recipient(**SISTER),
            categories=frozenset({"substance-use"}),
            labels=frozenset({"42CFRPart2"}),
        ),
        [consent],
    )
    assert outcome.outcome == "DENY"


def test_a_strict_agreement_denies_a_partner_individual_session_content() -> None:
    outcome = decide(partner_request(), [], agreement("strict"))
    assert outcome.outcome == "DENY"
    assert outcome.basis == {
        "rule": "agreement-strict",
        "agreement_id": "agr-1",
        "agreement_version": 3,
    }


def test_without_an_agreement_in_force_partner_requests_follow_strict() -> None:
    outcome = decide(partner_request(), [], None)
    assert outcome.outcome == "DENY"
    assert outcome.basis == {"rule": "agreement-strict"}


def test_a_no_secrets_agreement_permits_individual_session_content_for_joint_work() -> None:
    outcome = decide(partner_request(), [], agreement("no-secrets"))
    assert outcome.outcome == "PERMIT"
    assert outcome.basis["rule"] == "agreement-no-secrets"


@pytest.mark.parametrize(
    "asked",
    [
        {"categories": frozenset({"individual-session", "intimate-partner-violence"})},
        {"labels": frozenset({"SDV"})},
        {"labels": frozenset({"R"})},
    ],
)
def test_a_no_secrets_agreement_never_sends_abuse_or_restricted_content_to_the_partner(
    asked: dict[str, frozenset[str]],
) -> None:
    outcome = decide(partner_request(**asked), [], agreement("no-secrets"))
    assert (outcome.outcome, outcome.basis["rule"]) == ("DENY", "agreement-no-secrets")
    assert any("does not cover content labelled" in line for line in outcome.trace)
    consent = terms_of(
        recipients=[{"kind": "partner", "id": "person-b"}],
        labels=["SDV", "R"],
        categories=["individual-session", "intimate-partner-violence"],
    )
    written = decide(partner_request(**asked), [consent], agreement("no-secrets"))
    assert (written.outcome, written.basis["consent_id"]) == ("PERMIT", consent.consent_id)
    assert not any(o["code"] == "redact" for o in written.obligations)


def test_a_no_secrets_agreement_does_not_cover_purposes_other_than_treatment() -> None:
    outcome = decide(partner_request(purpose="FAMRQT"), [], agreement("no-secrets"))
    assert outcome.outcome == "DENY"


def test_a_limited_secrets_agreement_holds_content_in_confidence() -> None:
    outcome = decide(partner_request(), [], agreement("limited-secrets"))
    assert outcome.outcome == "DENY"
    assert outcome.basis["rule"] == "agreement-limited-secrets"


def test_written_permission_of_the_person_lets_content_reach_the_partner_under_strict() -> None:
    consent = terms_of(
        recipients=[{"kind": "partner", "id": "person-b"}], categories=["individual-session"]
    )
    outcome = decide(partner_request(), [consent], agreement("strict"))
    assert outcome.outcome == "PERMIT"
    assert outcome.basis["consent_id"] == consent.consent_id


def test_a_no_secrets_agreement_does_not_bypass_part2() -> None:
    outcome = decide(partner_request(labels=frozenset({"42CFRPart2"})), [], agreement("no-secrets"))
    assert outcome.outcome == "DENY"
    assert outcome.basis == {"rule": "part2-consent-required"}


def test_break_glass_permits_with_compliance_review_and_the_part2_notice() -> None:
    outcome = decide(
        emergency_request(labels=frozenset({"42CFRPart2"})),
        [terms_of(provision_type="deny", recipients=[{"kind": "provider", "id": "dr-er-7"}])],
    )
    assert outcome.outcome == "PERMIT"
    assert outcome.basis == {"rule": "break-glass:medical-emergency"}
    codes = [o["code"] for o in outcome.obligations]
    assert codes == ["compliance-review", "notify-compliance", "attach-part2-notice"]


def test_a_general_designation_names_every_recipient_of_its_kind() -> None:
    consent = terms_of(recipients=[{"kind": "provider", "id": None, "designation": "my doctors"}])
    outcome = decide(request(recipient=Recipient(kind="provider", id="dr-1")), [consent])
    assert outcome.outcome == "PERMIT"


def test_consents_of_another_person_are_ignored() -> None:
    assert decide(request(), [terms_of(person_id="person-z")]).outcome == "NO_CONSENT"
