"""FHIR R4 views for EHRs: CarePlan, its history, Goal and search, each valid per fhir.resources."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.goal import Goal

from tests.unit.plan.support_api_client import (
    active_plan,
    goal_body,
    headers,
    plan_body,
    shift_body,
)
from tests.unit.plan.support_builders import ALEX, SAM

EHR = headers("integration")


def labels(resource: dict) -> set[str]:  # type: ignore[type-arg]
    return {c["code"] for c in resource["meta"].get("security", [])}


def test_a_care_plan_is_valid_fhir_with_the_couple_as_a_group(client: TestClient):
    plan_id = active_plan(client)
    answer = client.get(f"/fhir/CarePlan/{plan_id}", headers=EHR)
    assert answer.headers["content-type"].startswith("application/fhir+json")
    resource = answer.json()
    care_plan = CarePlan.model_validate(resource)
    assert (care_plan.status, care_plan.intent, care_plan.meta.versionId) == ("active", "plan", "2")
    assert care_plan.subject.reference == "#unit"
    members = [m["entity"]["reference"] for m in resource["contained"][0]["member"]]
    assert members == [f"Patient/{ALEX}", f"Patient/{SAM}"]
    assert {a["detail"]["status"] for a in resource["activity"]} == {"scheduled"}


def test_a_format_shift_labels_the_care_plan_and_holds_joint_activity(client: TestClient):
    plan_id = active_plan(client)
    client.post(f"/plans/{plan_id}/format-shifts", json=shift_body(), headers=headers())
    resource = client.get(f"/fhir/CarePlan/{plan_id}", headers=EHR).json()
    CarePlan.model_validate(resource)
    assert {"R", "SDV"} <= labels(resource)
    assert "Coercive control" in resource["note"][0]["text"]
    assert "tracking" not in str(resource)  # the free-text rationale never leaves
    assert [a["detail"]["code"]["text"] for a in resource["activity"]] == ["individual session"]


def test_care_plan_history_gives_the_resource_at_a_version(client: TestClient):
    plan_id = active_plan(client)
    old = client.get(f"/fhir/CarePlan/{plan_id}/_history/1", headers=EHR).json()
    assert (CarePlan.model_validate(old).status, old["meta"]["versionId"]) == ("draft", "1")
    assert client.get(f"/fhir/CarePlan/{plan_id}/_history/7", headers=EHR).status_code == 404


def test_a_goal_is_valid_fhir_with_target_due_date_and_achievement(client: TestClient):
    plan_id = active_plan(client)
    goal_id = client.post(f"/plans/{plan_id}/goals", json=goal_body(), headers=headers()).json()[
        "goal_id"
    ]
    resource = client.get(f"/fhir/Goal/{goal_id}", headers=EHR).json()
    goal = Goal.model_validate(resource)
    assert goal.lifecycleStatus == "active"
    assert goal.achievementStatus.coding[0].code == "in-progress"
    assert float(goal.target[0].detailQuantity.value) == 1.0
    assert str(goal.target[0].dueDate) == "2026-06-01"
    assert "PSY" in labels(resource)


def test_a_goal_on_phq9_carries_its_loinc_code(client: TestClient):
    plan_id = active_plan(client)
    body = goal_body(measure="phq-9", unit="score", baseline=16, target=4, partners=[SAM])
    goal_id = client.post(f"/plans/{plan_id}/goals", json=body, headers=headers()).json()["goal_id"]
    resource = client.get(f"/fhir/Goal/{goal_id}", headers=EHR).json()
    Goal.model_validate(resource)
    assert resource["target"][0]["measure"]["coding"][0]["code"] == "44261-6"
    assert resource["subject"] == {"reference": f"Patient/{SAM}"}
    assert client.get("/fhir/Goal/unknown", headers=EHR).status_code == 404


def test_care_plans_are_searched_by_client(client: TestClient):
    plan_id = active_plan(client)
    client.post(
        "/plans",
        json=plan_body(members=[{"client_id": "x"}, {"client_id": "y"}]),
        headers=headers(),
    )
    bundle = client.get("/fhir/CarePlan", params={"subject": f"Patient/{SAM}"}, headers=EHR).json()
    parsed = Bundle.model_validate(bundle)
    assert (parsed.type, parsed.total) == ("searchset", 1)
    assert bundle["entry"][0]["resource"]["id"] == plan_id
    paged = client.get("/fhir/CarePlan", params={"subject": SAM, "limit": 0}, headers=EHR)
    assert paged.status_code == 422  # limit is 1 or more
    active_plan(client)
    first = client.get("/fhir/CarePlan", params={"subject": SAM, "limit": 1}, headers=EHR).json()
    assert Bundle.model_validate(first).total == 2
    assert [link["relation"] for link in first["link"]] == ["self", "next"]
    assert first["link"][1]["url"].endswith("offset=1")
    empty = client.get("/fhir/CarePlan", params={"subject": "nobody"}, headers=EHR).json()
    assert Bundle.model_validate(empty).total == 0
