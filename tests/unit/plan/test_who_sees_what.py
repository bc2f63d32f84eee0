"""Who sees what of a plan over HTTP, and the access log every read leaves behind."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from services.plan.application import PlanApplication
from tests.unit.plan.support_api_client import MARK, TOKENS, couple_with_sams_material, headers
from tests.unit.plan.support_builders import ALEX, SAM, TENANT, THERAPIST
from tests.unit.referral.support_helpers import FakeConsentGate


def token(sub: str, roles: list[str], patient: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.mint(sub, TENANT, roles, patient=patient)}"}


READS = (
    "/plans/{id}",
    "/plans/{id}?version=2",
    "/plans/{id}/history",
    "/fhir/CarePlan/{id}",
    "/fhir/CarePlan/{id}/_history/2",
    "/plans?subject=" + SAM,
    "/fhir/CarePlan?subject=Patient/" + SAM,
)


def test_alex_sees_none_of_sams_individual_material_on_any_read(client: TestClient) -> None:
    plan_id = couple_with_sams_material(client)
    alex = token("portal-alex", ["client"], patient=ALEX)
    for path in READS:
        answer = client.get(path.format(id=plan_id), headers=alex)
        assert answer.status_code == 200, (path, answer.text)
        assert MARK not in answer.text, path
        assert "phq9-item9" not in answer.text and "44261-6" not in answer.text, path
    plan = client.get(f"/plans/{plan_id}", headers=alex).json()
    assert plan["measurements"] == [] and plan["alerts"] == []
    assert plan["sessions"][0]["redacted"] == ["check_ins", "focus_issues", "homework"]
    assert "reason" not in plan["format_shifts"][0]
    assert "PSY" not in plan["security_labels"] and "SDV" not in plan["security_labels"]
    assert f"individual-content:{SAM}" in plan["redacted"]


def test_a_permit_from_the_consent_service_lets_alex_see_sams_session(
    client: TestClient, gate: FakeConsentGate
) -> None:
    plan_id = couple_with_sams_material(client)
    gate.outcome = "PERMIT"
    plan = client.get(f"/plans/{plan_id}", headers=token("portal-alex", ["client"], ALEX)).json()
    assert plan["sessions"][0]["focus_issues"] == [MARK]
    asked = gate.requests[-1][0]
    assert (asked.person_id, asked.recipient) == (SAM, {"kind": "partner", "id": ALEX})
    assert "rationale" not in plan["format_shifts"][0]  # a client never gets the free text


def test_a_permit_never_shows_alex_what_sams_screens_found(
    client: TestClient, gate: FakeConsentGate
) -> None:
    plan_id = couple_with_sams_material(client)
    gate.outcome = "PERMIT"
    alex = token("portal-alex", ["client"], patient=ALEX)
    for path in READS:
        answer = client.get(path.format(id=plan_id), headers=alex)
        assert answer.status_code == 200, (path, answer.text)
        assert "phq9-item9" not in answer.text and "44261-6" not in answer.text, path
    plan = client.get(f"/plans/{plan_id}", headers=alex).json()
    assert plan["measurements"] == [] and plan["alerts"] == []
    acting = headers("clinician", **{"X-Acting-For": ALEX})
    seen = client.get(f"/plans/{plan_id}", headers=acting).json()
    assert seen["measurements"] == [] and seen["alerts"] == []


def test_the_consent_service_down_is_a_503_not_the_data(
    client: TestClient, gate: FakeConsentGate
) -> None:
    plan_id = couple_with_sams_material(client)
    gate.down = True
    answer = client.get(f"/plans/{plan_id}", headers=token("portal-alex", ["client"], ALEX))
    assert answer.status_code == 503 and MARK not in answer.text


def test_sam_sees_his_own_material_but_not_the_rationale(client: TestClient) -> None:
    plan_id = couple_with_sams_material(client)
    plan = client.get(f"/plans/{plan_id}", headers=token("portal-sam", ["client"], SAM)).json()
    assert plan["sessions"][0]["focus_issues"] == [MARK]
    assert plan["measurements"][0]["partner_id"] == SAM
    assert plan["format_shifts"][0]["reason"] == "coercive-control"
    assert plan["format_shifts"][0]["redacted"] == ["rationale"]


def test_a_client_of_another_unit_and_a_clinician_outside_the_team_are_refused(
    client: TestClient,
) -> None:
    plan_id = couple_with_sams_material(client)
    stranger = client.get(f"/plans/{plan_id}", headers=token("p", ["client"], "client-zed"))
    outsider = client.get(f"/plans/{plan_id}", headers=token("clin-other", ["clinician"]))
    for answer in (stranger, outsider):
        assert answer.status_code == 403 and MARK not in answer.text
    assert "break-glass" in outsider.json()["detail"]
    listed = client.get("/plans", headers=token("clin-other", ["clinician"])).json()
    assert (listed["items"], listed["total"]) == ([], 0)


def test_a_coordinator_gets_the_minimum_necessary(client: TestClient) -> None:
    plan_id = couple_with_sams_material(client)
    plan = client.get(f"/plans/{plan_id}", headers=headers("coordinator")).json()
    assert MARK not in str(plan) and plan["measurements"] == []
    assert plan["sessions"][0]["held_on"] == "2026-01-12"
    assert {"reason", "rationale"}.isdisjoint(plan["format_shifts"][0])
    assert "plan-frame" in plan["redacted"]


def test_break_glass_opens_the_plan_and_waits_for_review(client: TestClient) -> None:
    plan_id = couple_with_sams_material(client)
    er = token("clin-er", ["clinician"])
    opened = client.post(
        f"/plans/{plan_id}/break-glass", json={"justification": "ER tonight"}, headers=er
    )
    assert opened.status_code == 201, opened.text
    assert MARK in client.get(f"/plans/{plan_id}", headers=er).text
    queue = client.get("/break-glass/reviews", headers=headers("compliance")).json()["items"]
    assert [(q["plan_id"], q["clinician_id"], q["justification"]) for q in queue] == [
        (plan_id, "clin-er", "ER tonight")
    ]
    for reader, sees in (
        (headers(), False),
        (token("portal-alex", ["client"], ALEX), False),
        (headers("compliance"), True),
    ):
        history = client.get(f"/plans/{plan_id}/history", headers=reader).json()["items"]
        granted = next(e for e in history if e["event"] == "EmergencyAccessGranted")["body"]
        assert ("ER tonight" in str(granted)) is sees, reader
    review = client.post(
        f"/plans/{plan_id}/break-glass/{queue[0]['grant_id']}/review",
        json={"finding": "justified"},
        headers=headers("compliance"),
    )
    assert review.status_code == 201
    assert client.get("/break-glass/reviews", headers=headers("compliance")).json()["total"] == 0
    log = client.get("/access-log?user=clin-er", headers=headers("compliance")).json()
    assert any(row["break_glass"] for row in log["items"])


def test_every_read_and_every_refusal_is_in_the_access_log(
    client: TestClient, app: PlanApplication
) -> None:
    plan_id = couple_with_sams_material(client)
    client.get(f"/plans/{plan_id}", headers=token("portal-alex", ["client"], ALEX))
    client.get(f"/plans/{plan_id}", headers=token("clin-other", ["clinician"]))
    client.get(f"/plans/{plan_id}")
    foreign = headers(tenant="practice-other")
    assert client.get(f"/plans/{plan_id}", headers=foreign).status_code == 404
    compliance = headers("compliance", **{"X-Purpose-Of-Use": "HOPERAT"})
    rows = client.get(f"/access-log?patient={SAM}", headers=compliance).json()["items"]
    seen = [(r["who"]["sub"], r["status"], r["view"]) for r in rows]
    assert ("portal-alex", 200, "redacted") in seen
    assert ("clin-other", 403, None) in seen
    assert (THERAPIST, 404, None) in seen  # the other practice's attempt, in this practice's log
    alex = next(r for r in rows if r["who"]["sub"] == "portal-alex")
    assert alex["what"]["records"] == [{"id": plan_id, "version": 6}]
    assert alex["who"]["on_behalf_of"] == ALEX and alex["purpose"] == "TREAT"
    unauthenticated = client.get("/access-log?outcome=refused", headers=compliance).json()
    assert any(r["who"]["sub"] is None and r["status"] == 401 for r in unauthenticated["items"])
    again = client.get("/access-log?resource=x", headers=compliance).json()["items"]
    assert again[0]["what"]["resource_type"] == "AuditEvent"  # reading the log is logged
    assert again[0]["purpose"] == "HOPERAT"


@pytest.mark.parametrize("fmt", ["csv", "fhir"])
def test_the_access_log_is_exported_as_csv_and_fhir_audit_events(
    client: TestClient, fmt: str
) -> None:
    plan_id = couple_with_sams_material(client)
    client.get(f"/plans/{plan_id}", headers=headers())
    answer = client.get(f"/access-log?format={fmt}&user={THERAPIST}", headers=headers("compliance"))
    assert answer.status_code == 200
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert rows[0]["records"] == f"{plan_id}@6" and rows[0]["outcome"] == "success"
        return
    event = answer.json()["entry"][0]["resource"]
    assert event["type"]["code"] == "110110"
    assert event["subtype"][0]["code"] == "read"
    assert {"reference": f"CarePlan/{plan_id}"} in [e["what"] for e in event["entity"]]
