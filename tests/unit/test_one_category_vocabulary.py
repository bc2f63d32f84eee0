"""One data-category vocabulary (contracts/categories.py) serves the consent and referral APIs.

The consent API takes exactly these values (and says which when one is unknown); a referral may
carry any of them as an extra category (the consent service decides on it), and the labels a
category implies label the referral too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from contracts.categories import CATEGORIES, IMPLIED_LABELS, implied_labels
from contracts.privacy import LABELS
from services.common.store.application import build_application
from services.consent.application import ConsentApplication
from services.consent.bootstrap import create_app
from services.consent.domain.terms import COUNSELING_NOTES
from services.referral.application import ReferralApplication
from tests.unit.consent.test_api import CLINICIAN, SETTINGS, consent_body
from tests.unit.referral.support_api_client import Api, referral_body
from tests.unit.referral.support_helpers import FakeConsentGate, new_referral

ALL = ", ".join(CATEGORIES)


@pytest.fixture
def consent_api() -> Iterator[TestClient]:
    app: ConsentApplication = build_application(ConsentApplication, None)
    with TestClient(create_app(SETTINGS, app)) as client:
        yield client
    app.close()


@pytest.fixture
def referral_api() -> Api:
    app: ReferralApplication = build_application(ReferralApplication, None)
    app.consent_gate = FakeConsentGate()
    return Api(app)


def test_every_implied_label_is_an_hcs_label_of_the_contracts_and_every_key_a_category() -> None:
    assert set(IMPLIED_LABELS) <= set(CATEGORIES)
    assert set().union(*IMPLIED_LABELS.values()) <= set(LABELS)
    assert implied_labels(["psychotherapy-notes", "intimate-partner-violence"]) == {
        "PSY",
        "PSYTHPN",
        "SDV",
    }


def test_the_consent_api_takes_every_category_and_names_them_all_for_an_unknown_one(
    consent_api: TestClient,
) -> None:
    # Counseling notes need a consent of their own, so the vocabulary is taken in three.
    others = [c for c in CATEGORIES if c not in COUNSELING_NOTES]
    for categories in (others, *([note] for note in sorted(COUNSELING_NOTES))):
        body = consent_body(part2=False, categories=categories, labels=[])
        created = consent_api.post("/consents", json=body, headers=CLINICIAN)
        assert created.status_code == 201, created.text
        assert created.json()["categories"] == categories
    unknown = consent_api.post(
        "/consents", json=consent_body(categories=["gossip"]), headers=CLINICIAN
    )
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    message = unknown.json()["errors"]["categories.0"]
    assert all(f"'{category}'" in message for category in CATEGORIES)


def test_a_referral_may_carry_psychotherapy_notes_and_ipv_and_is_labelled_by_them(
    referral_api: Api,
) -> None:
    extra = ["psychotherapy-notes", "intimate-partner-violence"]
    body = referral_body(referral_type="individual-therapy", categories=extra)
    created = referral_api.post("/referrals", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["categories"] == sorted([*extra, "referral"])
    assert created.json()["security_labels"] == ["PSY", "PSYTHPN", "R", "SDV"]


def test_the_referral_api_names_the_whole_vocabulary_for_an_unknown_category(
    referral_api: Api,
) -> None:
    response = referral_api.post("/referrals", json=referral_body(categories=["gossip"]))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "unknown data categories: gossip"
    assert response.json()["errors"] == {"categories": f"use any of: {ALL}"}


def test_a_detox_referral_keeps_its_part_2_labels_with_an_extra_category() -> None:
    referral = new_referral("detox", categories=["diagnosis"])
    assert referral.security_labels == ["42CFRPart2", "ETH", "PSY", "R"]
