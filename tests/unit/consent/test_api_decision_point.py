"""The decision point and the late disclosures over HTTP: clear 4xx, roles, restricted text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.consent.application import ConsentApplication
from services.consent.bootstrap import create_app
from tests.unit.consent.support_builders import DETOX
from tests.unit.consent.test_api import (
    COMPLIANCE,
    SETTINGS,
    active_part2_consent,
    auth,
    consent_body,
    part2_decision_body,
)

CLINICIAN = auth("clinician", "clin-1")
PARTNER = {"kind": "partner", "id": "person-b"}


@pytest.fixture
def client(app: ConsentApplication) -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS, app)) as test_client:
        yield test_client


def ask(client: TestClient, headers: dict[str, str] = CLINICIAN, **body: Any) -> Any:
    fields = {
        "person_id": "person-a",
        "recipient": DETOX,
        "purpose": "TREAT",
        "categories": ["substance-use"],
    }
    return client.post("/decisions", json={**fields, **body}, headers=headers)


def test_a_decision_derives_labels_and_records_them(client: TestClient) -> None:
    answer = ask(client, labels=[])
    assert answer.status_code == 201
    assert answer.json()["labels"] == ["42CFRPart2", "ETH"]
    assert answer.json()["valid_until"]


def test_a_blank_recipient_id_is_a_422_saying_what_is_accepted(client: TestClient) -> None:
    answer = ask(client, recipient={"kind": "organization", "id": "  "})
    assert answer.status_code == 422
    assert "case, spacing" in answer.json()["errors"]["recipient.id"]


ANY_PARTNER = {"kind": "partner", "id": None, "designation": "my partner"}
ANY_RELATIVE = {"kind": "family-member", "id": None, "designation": "my family"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"recipients": [DETOX, ANY_PARTNER]}, "recipients[1].id"),
        ({"recipients": [ANY_RELATIVE]}, "recipients[0].id"),
        (
            {
                "provision_type": "deny",
                "provisions": [{"type": "permit", "recipients": [ANY_PARTNER]}],
            },
            "provisions[0].recipients[0].id",
        ),
    ],
)
def test_a_consent_permits_a_partner_or_family_member_only_by_id(
    client: TestClient, overrides: dict[str, Any], field: str
) -> None:
    body = consent_body(part2=False, categories=["individual-session"], labels=[], **overrides)
    answer = client.post("/consents", json=body, headers=CLINICIAN)
    assert answer.status_code == 422, answer.text
    assert "only by id" in answer.json()["errors"][field]


def test_a_nested_deny_may_name_partners_by_general_designation(client: TestClient) -> None:
    deny = {"type": "deny", "recipients": [ANY_PARTNER], "categories": ["individual-session"]}
    body = consent_body(
        part2=False, categories=["individual-session", "assessment"], labels=[], provisions=[deny]
    )
    answer = client.post("/consents", json=body, headers=CLINICIAN)
    assert answer.status_code == 201, answer.text


def test_about_partner_of_another_person_is_a_422(client: TestClient) -> None:
    answer = ask(
        client,
        recipient=PARTNER,
        categories=["individual-session"],
        context={"about_partner_of": "person-old"},
    )
    assert answer.status_code == 422
    assert "context.about_partner_of" in answer.json()["errors"]


def test_a_coordinator_cannot_break_the_glass(client: TestClient) -> None:
    glass = {"kind": "imminent-threat", "justification": "a threat to life reported by the ER"}
    answer = ask(
        client,
        headers=auth("coordinator"),
        recipient={"kind": "provider", "id": "er"},
        categories=["assessment"],
        break_glass=glass,
    )
    assert answer.status_code == 403


def test_break_glass_kinds_that_are_carve_outs_point_to_carve_out(client: TestClient) -> None:
    glass = {"kind": "court-order", "justification": "a court ordered the records produced"}
    answer = ask(
        client,
        recipient={"kind": "provider", "id": "er"},
        categories=["assessment"],
        break_glass=glass,
    )
    assert answer.status_code == 422
    assert "carve_out" in answer.json()["errors"]["break_glass.kind"]


def test_a_carve_out_justification_is_restricted_to_compliance(client: TestClient) -> None:
    carve = {"kind": "mandated-reporting", "justification": "child disclosed abuse at home today"}
    answer = ask(
        client,
        recipient={"kind": "organization", "id": "cps"},
        categories=["assessment"],
        carve_out=carve,
    )
    assert answer.status_code == 201, answer.text
    url = f"/decisions/{answer.json()['decision_id']}"
    assert client.get(url, headers=CLINICIAN).json()["carve_out"]["justification"] == (
        "(restricted)"
    )
    assert "abuse" in client.get(url, headers=COMPLIANCE).json()["carve_out"]["justification"]
    queue = client.get("/reviews", headers=COMPLIANCE).json()
    assert [d["decision_id"] for d in queue["items"]] == [answer.json()["decision_id"]]


def test_naming_a_record_without_its_owner_is_a_422(client: TestClient) -> None:
    answer = ask(client, records=[{"kind": "plan", "id": "p-1"}])
    assert answer.status_code == 422
    assert "records[0]" in answer.json()["errors"]


def late_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "person_id": "person-a",
        "recipient": {"kind": "organization", "id": "court"},
        "description": "records produced under a court order",
        "categories": ["treatment-plan"],
        "purpose": "COC",
        "disclosed_at": "2022-03-01T10:00:00Z",
        "disclosed_by": "clin-old",
        "source": "import",
        "basis": {"kind": "legal-exception", "exception": "court-order", "reference": "CV-7"},
    }
    return {**body, **overrides}


def test_a_late_disclosure_is_recorded_and_accounted_under_hipaa(client: TestClient) -> None:
    recorded = client.post("/disclosures/late", json=late_body(), headers=COMPLIANCE)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["recorded_late"] is True
    accounting = client.get("/persons/person-a/disclosure-accounting", headers=COMPLIANCE).json()
    assert [(i["disclosure_id"], i["regimes"]) for i in accounting["items"]] == [
        (recorded.json()["disclosure_id"], ["HIPAA"])
    ]


def test_a_late_disclosure_with_an_unknown_basis_is_a_422(client: TestClient) -> None:
    answer = client.post(
        "/disclosures/late", json=late_body(basis={"kind": "hearsay"}), headers=COMPLIANCE
    )
    assert answer.status_code == 422
    coordinator = client.post("/disclosures/late", json=late_body(), headers=auth("coordinator"))
    assert coordinator.status_code == 403


def test_only_the_clinician_who_asked_may_disclose_on_the_decision(client: TestClient) -> None:
    active_part2_consent(client)
    decision = client.post("/decisions", json=part2_decision_body(), headers=CLINICIAN).json()
    assert decision["actor_id"] == "clin-1"
    body = {
        "person_id": "person-a",
        "decision_id": decision["decision_id"],
        "recipient": DETOX,
        "description": "intake assessment",
        "categories": ["substance-use"],
        "purpose": "TREAT",
        "disclosed_at": decision["decided_at"],
        "obligations_met": ["attach-part2-notice"],
    }
    other = auth("clinician", "clin-2")
    refused = client.post("/disclosures", json=body, headers=other)
    assert refused.status_code == 409, refused.text
    assert set(refused.json()["mismatches"]) == {"disclosed_by"}
    assert "clin-1" in refused.json()["mismatches"]["disclosed_by"]
    claimed = client.post("/disclosures", json={**body, "disclosed_by": "clin-1"}, headers=other)
    assert claimed.status_code == 422, claimed.text
    recorded = client.post("/disclosures", json=body, headers=CLINICIAN)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["disclosed_by"] == "clin-1"
