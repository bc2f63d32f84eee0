"""The consent HTTP API on the in-memory store: status codes, problem+json, roles, formats."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent

from services.common.auth.callers import TokenService
from services.common.settings import Settings
from services.consent.application import ConsentApplication
from services.consent.bootstrap import create_app
from tests.unit.consent.support_builders import DETOX, SISTER, TENANT

SETTINGS = Settings(env="dev")
TOKENS = TokenService(SETTINGS)


def auth(role: str, sub: str = "user-1", tenant: str = TENANT) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.mint(sub, tenant, [role])}"}


CLINICIAN, COMPLIANCE = auth("clinician", "clin-1"), auth("compliance", "comp-1")


@pytest.fixture
def client(app: ConsentApplication) -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS, app)) as test_client:
        yield test_client


def consent_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "person_id": "person-a",
        "part2": True,
        "disclosers": ["practice-1"],
        "description": "withdrawal history and intake assessment",
        "recipients": [DETOX],
        "purposes": ["TREAT"],
        "categories": ["substance-use", "assessment"],
        "labels": ["42CFRPart2", "ETH"],
        "start": "2026-01-01",
        "end": "2027-01-01",
        "revocation_right_acknowledged": True,
        "signature": {"signed_by": "person-a", "signed_on": "2026-01-01"},
    }
    body.update(overrides)
    return body


def part2_decision_body(recipient: dict[str, Any] = DETOX) -> dict[str, Any]:
    return {
        "person_id": "person-a",
        "recipient": recipient,
        "purpose": "TREAT",
        "categories": ["substance-use"],
        "labels": ["42CFRPart2"],
    }


def active_part2_consent(client: TestClient) -> dict[str, Any]:
    created = client.post("/consents", json=consent_body(), headers=CLINICIAN)
    assert created.status_code == 201, created.text
    consent_id = created.json()["consent_id"]
    activated = client.post(
        f"/consents/{consent_id}/activation", headers={**CLINICIAN, "If-Match": '"1"'}
    )
    assert activated.status_code == 201, activated.text
    assert activated.headers["ETag"] == 'W/"2"'
    return dict(activated.json())


def test_a_part2_consent_missing_elements_is_a_422_listing_each_by_name(
    client: TestClient,
) -> None:
    body = consent_body(description=None, end=None, signature=None)
    response = client.post("/consents", json=body, headers=CLINICIAN)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert {"description", "expiry", "signature.signed_by", "signature.signed_on"} <= set(
        response.json()["errors"]
    )


def test_unparseable_input_is_a_422_naming_the_field_never_a_500(client: TestClient) -> None:
    response = client.post(
        "/decisions", json={**part2_decision_body(), "purpose": "GOSSIP"}, headers=CLINICIAN
    )
    assert response.status_code == 422
    assert "purpose" in response.json()["errors"]
    bad_date = client.get("/decisions?from=yesterday", headers=COMPLIANCE)
    assert bad_date.status_code == 422
    assert "from" in bad_date.json()["errors"]
    assert client.get("/consents/not-a-uuid", headers=CLINICIAN).status_code == 404


def test_a_part2_consent_permits_the_detox_program_and_denies_a_family_member(
    client: TestClient,
) -> None:
    consent = active_part2_consent(client)
    permit = client.post("/decisions", json=part2_decision_body(), headers=CLINICIAN).json()
    assert permit["outcome"] == "PERMIT"
    assert permit["basis"] == {"consent_id": consent["consent_id"], "consent_version": 2}
    assert permit["obligations"][0]["code"] == "attach-part2-notice"
    deny = client.post("/decisions", json=part2_decision_body(SISTER), headers=CLINICIAN).json()
    assert deny["outcome"] == "DENY"
    assert deny["trace"]


def test_roles_are_enforced_per_endpoint(client: TestClient) -> None:
    integration = auth("integration")
    assert (
        client.post("/decisions", json=part2_decision_body(), headers=integration).status_code
        == 403
    )
    assert client.get("/reviews", headers=CLINICIAN).status_code == 403
    assert client.get("/decisions").status_code == 401
    assert (
        client.post(
            "/decisions", json=part2_decision_body(), headers=auth("coordinator")
        ).status_code
        == 201
    )


def test_another_practice_sees_a_404(client: TestClient) -> None:
    consent = active_part2_consent(client)
    other = auth("clinician", tenant="practice-2")
    assert client.get(f"/consents/{consent['consent_id']}", headers=other).status_code == 404


def test_a_stale_if_match_is_a_412(client: TestClient) -> None:
    consent = active_part2_consent(client)
    response = client.post(
        f"/consents/{consent['consent_id']}/revocation",
        json={"in_writing": True},
        headers={**CLINICIAN, "If-Match": '"1"'},
    )
    assert response.status_code == 412


def test_a_disclosure_that_does_not_match_its_decision_is_a_409_naming_the_mismatch(
    client: TestClient,
) -> None:
    active_part2_consent(client)
    decision = client.post("/decisions", json=part2_decision_body(), headers=CLINICIAN).json()
    body = {
        "person_id": "person-a",
        "decision_id": decision["decision_id"],
        "recipient": {**DETOX, "id": "org-other"},
        "description": "intake assessment",
        "categories": ["substance-use"],
        "labels": ["42CFRPart2"],
        "purpose": "TREAT",
        "disclosed_at": "2026-11-25T12:00:00Z",
        "obligations_met": ["attach-part2-notice"],
    }
    response = client.post("/disclosures", json=body, headers=CLINICIAN)
    assert response.status_code == 409
    assert set(response.json()["mismatches"]) == {"recipient"}


def test_break_glass_goes_to_the_review_queue_until_compliance_closes_it(
    client: TestClient,
) -> None:
    body = {
        **part2_decision_body({"kind": "provider", "id": "er-1"}),
        "break_glass": {
            "kind": "medical-emergency",
            "justification": "patient unresponsive, emergency department needs history",
            "received_by": "Dr. On Call",
            "affiliation": "County General emergency department",
            "nature_of_emergency": "suspected overdose",
        },
    }
    decision = client.post("/decisions", json=body, headers=CLINICIAN).json()
    assert decision["outcome"] == "PERMIT"
    url = f"/decisions/{decision['decision_id']}"
    seen_by_clinician = client.get(url, headers=CLINICIAN).json()["break_glass"]
    assert seen_by_clinician["kind"] == "medical-emergency"
    assert {
        seen_by_clinician[k]
        for k in ("justification", "received_by", "affiliation", "nature_of_emergency")
    } == {"(restricted)"}
    seen_by_compliance = client.get(url, headers=COMPLIANCE).json()["break_glass"]
    assert "unresponsive" in seen_by_compliance["justification"]
    assert seen_by_compliance["received_by"] == "Dr. On Call"
    queue = client.get("/reviews", headers=COMPLIANCE).json()
    assert [d["decision_id"] for d in queue["items"]] == [decision["decision_id"]]
    closed = client.post(
        f"/decisions/{decision['decision_id']}/review",
        json={"finding": "justified"},
        headers=COMPLIANCE,
    )
    assert closed.status_code == 201
    assert client.get("/reviews", headers=COMPLIANCE).json()["total"] == 0
    listed = client.get("/decisions?break_glass=true", headers=COMPLIANCE).json()
    assert listed["items"][0]["review"]["finding"] == "justified"


def test_the_accounting_lists_each_disclosure_in_json_csv_and_fhir(client: TestClient) -> None:
    active_part2_consent(client)
    decision = client.post("/decisions", json=part2_decision_body(), headers=CLINICIAN).json()
    body = {
        "person_id": "person-a",
        "decision_id": decision["decision_id"],
        "recipient": {**DETOX, "address": "1 Harbor Rd"},
        "description": "intake assessment",
        "categories": ["substance-use"],
        "labels": ["42CFRPart2"],
        "purpose": "TREAT",
        "disclosed_at": "2026-11-25T12:00:00Z",
        "obligations_met": ["attach-part2-notice"],
    }
    disclosure = client.post("/disclosures", json=body, headers=CLINICIAN)
    assert disclosure.status_code == 201, disclosure.text
    url = "/persons/person-a/disclosure-accounting"
    as_json = client.get(url, headers=COMPLIANCE).json()
    assert [r["disclosure_id"] for r in as_json["items"]] == [disclosure.json()["disclosure_id"]]
    # Treatment under a Part 2 consent: 42 CFR 2.24 lists it, HIPAA excludes it (164.528(a)(1)).
    assert as_json["items"][0]["regimes"] == ["42CFRPart2"]
    assert as_json["accounting_id"]
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"{url}?format=csv", headers=COMPLIANCE).text))
    )
    assert rows[0]["recipient_address"] == "1 Harbor Rd"
    fhir_response = client.get(f"{url}?format=fhir", headers=COMPLIANCE)
    assert fhir_response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(fhir_response.text)
    event = bundle.entry[0].resource
    assert event.type.code == "110106"
    assert event.subtype[0].code == "disclose"
    assert client.get(url, headers=CLINICIAN).status_code == 403


def test_fhir_consent_and_its_versions_validate(client: TestClient) -> None:
    consent = active_part2_consent(client)
    current = client.get(f"/fhir/Consent/{consent['consent_id']}", headers=CLINICIAN)
    assert Consent.model_validate_json(current.text).status == "active"
    version = Consent.model_validate_json(current.text).meta.versionId
    assert current.headers["ETag"] == f'W/"{version}"'
    first = client.get(f"/fhir/Consent/{consent['consent_id']}/_history/1", headers=CLINICIAN)
    assert Consent.model_validate_json(first.text).status == "draft"
    assert (
        client.get(
            f"/fhir/Consent/{consent['consent_id']}/_history/9", headers=CLINICIAN
        ).status_code
        == 404
    )
    history = client.get(f"/consents/{consent['consent_id']}/history", headers=COMPLIANCE).json()
    assert [e["event"] for e in history["events"]] == ["ConsentCreated", "ConsentActivated"]


def test_fhir_audit_events_of_a_patient_are_a_searchset_bundle(client: TestClient) -> None:
    active_part2_consent(client)
    decision = client.post("/decisions", json=part2_decision_body(), headers=CLINICIAN).json()
    body = {
        "person_id": "person-a",
        "decision_id": decision["decision_id"],
        "recipient": DETOX,
        "description": "intake assessment",
        "categories": ["substance-use"],
        "labels": ["42CFRPart2"],
        "purpose": "TREAT",
        "disclosed_at": "2026-11-25T12:00:00Z",
        "obligations_met": ["attach-part2-notice"],
    }
    assert client.post("/disclosures", json=body, headers=CLINICIAN).status_code == 201
    early = client.post(
        "/disclosures", json={**body, "disclosed_at": "2026-11-24T12:00:00Z"}, headers=CLINICIAN
    )
    assert early.status_code == 409
    assert set(early.json()["mismatches"]) == {"disclosed_at"}
    response = client.get("/fhir/AuditEvent?patient=person-a", headers=auth("integration"))
    found = Bundle.model_validate_json(response.text)
    assert (found.type, found.total) == ("searchset", 1)
    assert client.get("/fhir/AuditEvent", headers=COMPLIANCE).status_code == 422


def test_denials_are_listed_for_a_period(client: TestClient) -> None:
    denied = client.post("/decisions", json=part2_decision_body(SISTER), headers=CLINICIAN).json()
    inside = client.get(
        "/decisions?outcome=DENY&from=2026-11-25&to=2026-11-26", headers=COMPLIANCE
    ).json()
    assert [d["decision_id"] for d in inside["items"]] == [denied["decision_id"]]
    before = client.get("/decisions?outcome=DENY&to=2026-11-25", headers=COMPLIANCE).json()
    assert before["total"] == 0


def test_a_couple_agreement_is_found_by_its_two_partners(client: TestClient) -> None:
    body = {"partner_ids": ["person-a", "person-b"], "mode": "limited-secrets"}
    created = client.post("/agreements", json=body, headers=CLINICIAN).json()
    found = client.get(
        "/agreements?partner_id=person-b&partner_id=person-a", headers=CLINICIAN
    ).json()
    assert found["agreement_id"] == created["agreement_id"]
    missing = client.get("/agreements?partner_id=person-a&partner_id=person-z", headers=CLINICIAN)
    assert missing.status_code == 404
    one = client.get("/agreements?partner_id=person-a", headers=CLINICIAN)
    assert one.status_code == 422
