"""The plan API over HTTP (in memory): roles, ETags, problem+json, idempotency, history."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tests.unit.plan.support_api_client import (
    active_plan,
    goal_body,
    headers,
    plan_body,
    shift_body,
)
from tests.unit.plan.support_builders import AGREEMENT, ALEX, SAM, THERAPIST


def test_creating_a_plan_answers_201_with_etag_and_location(client: TestClient):
    created = client.post("/plans", json=plan_body(), headers=headers())
    assert created.status_code == 201
    plan_id = created.json()["plan_id"]
    assert created.headers["ETag"] == 'W/"1"'
    assert created.headers["Location"] == f"/plans/{plan_id}"
    read = client.get(f"/plans/{plan_id}", headers=headers("coordinator"))
    assert (read.status_code, read.headers["ETag"]) == (200, 'W/"1"')
    assert read.json()["status"] == "draft"


def test_a_request_without_a_token_is_401(client: TestClient):
    answer = client.post("/plans", json=plan_body())
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("role", ["coordinator", "compliance", "integration", "admin"])
def test_only_clinicians_write_clinical_content(client: TestClient, role: str):
    assert client.post("/plans", json=plan_body(), headers=headers(role)).status_code == 403


def test_coordinators_write_scheduling_and_read(client: TestClient):
    plan_id = active_plan(client)
    changed = client.patch(
        f"/plans/{plan_id}/schedule", json={"cadence_weeks": 2}, headers=headers("coordinator")
    )
    assert (changed.status_code, changed.headers["ETag"]) == (200, 'W/"3"')
    assert client.get("/worklists/reviews-due", headers=headers("coordinator")).status_code == 200


@pytest.mark.parametrize("role", ["compliance", "integration"])
def test_compliance_and_integration_read_but_do_not_write(client: TestClient, role: str):
    plan_id = active_plan(client)
    assert client.get(f"/plans/{plan_id}/history", headers=headers(role)).status_code == 200
    assert client.get(f"/fhir/CarePlan/{plan_id}", headers=headers(role)).status_code == 200
    answer = client.post(f"/plans/{plan_id}/goals", json=goal_body(), headers=headers(role))
    assert answer.status_code == 403


def test_another_practice_gets_404(client: TestClient):
    plan_id = active_plan(client)
    assert client.get(f"/plans/{plan_id}", headers=headers(tenant="other")).status_code == 404


def test_an_invalid_transition_is_409_naming_the_allowed_ones(client: TestClient):
    plan_id = active_plan(client)
    answer = client.post(f"/plans/{plan_id}/status", json={"status": "draft"}, headers=headers())
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["allowed"] == ["completed", "entered-in-error", "on-hold", "revoked"]
    assert "allowed from 'active'" in problem["detail"]


def test_a_stale_if_match_is_412_and_a_current_one_succeeds(client: TestClient):
    plan_id = active_plan(client)
    stale = client.post(
        f"/plans/{plan_id}/goals", json=goal_body(), headers=headers(**{"If-Match": '"1"'})
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    fresh = client.post(
        f"/plans/{plan_id}/goals", json=goal_body(), headers=headers(**{"If-Match": '"2"'})
    )
    assert (fresh.status_code, fresh.headers["ETag"]) == (201, 'W/"3"')


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("format-shifts", shift_body(reason="bored"), "reason"),
        (
            "measurements",
            {
                "partner_id": ALEX,
                "measure": "phq-9",
                "value": 30,
                "items": [3] * 9,
                "taken_on": "2026-01-12",
            },
            "value",
        ),
        (
            "measurements",
            {"partner_id": ALEX, "measure": "phq-9", "value": 12, "taken_on": "2026-01-12"},
            "items",
        ),
        ("goals", {k: v for k, v in goal_body().items() if k != "target"}, "target"),
        ("goals", goal_body(due_on="next spring"), "due_on"),
        (
            "sessions",
            {
                "format": "joint",
                "modality": "in-person",
                "held_on": "2026-01-12",
                "focus_issues": [],
            },
            "focus_issues",
        ),
        ("goals", goal_body(unexpected=1), "unexpected"),
    ],
)
def test_bad_input_is_a_422_that_names_the_field(client: TestClient, path, body, field):
    plan_id = active_plan(client)
    answer = client.post(f"/plans/{plan_id}/{path}", json=body, headers=headers())
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.json()["errors"]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/plans/not-a-uuid"),
        ("get", "/plans/{id}?version=0"),
        ("get", "/plans/{id}?version=1&at=2026-01-01T00:00:00"),
        ("get", "/fhir/CarePlan/{id}/_history/abc"),
        ("get", "/fhir/CarePlan"),
    ],
)
def test_bad_queries_are_4xx_never_500(client: TestClient, method: str, url: str):
    plan_id = active_plan(client)
    answer = client.request(method, url.replace("{id}", plan_id), headers=headers())
    assert 400 <= answer.status_code < 500, answer.text


def test_malformed_json_is_a_422(client: TestClient):
    answer = client.post(
        "/plans", content=b"{not json", headers=headers(**{"Content-Type": "application/json"})
    )
    assert answer.status_code == 422


def test_a_retried_post_with_the_same_idempotency_key_records_once(client: TestClient):
    plan_id = active_plan(client)
    key = headers(**{"Idempotency-Key": "goal-1"})
    first = client.post(f"/plans/{plan_id}/goals", json=goal_body(), headers=key)
    again = client.post(f"/plans/{plan_id}/goals", json=goal_body(), headers=key)
    assert first.json() == again.json()
    plan = client.get(f"/plans/{plan_id}", headers=headers()).json()
    assert len(plan["goals"]) == 1


def test_a_shift_rationale_is_hidden_from_a_caller_acting_for_the_other_partner(client):
    plan_id = active_plan(client)
    shifted = client.post(f"/plans/{plan_id}/format-shifts", json=shift_body(), headers=headers())
    assert shifted.status_code == 201, shifted.text
    for_sam = headers(**{"X-Acting-For": SAM})
    plan = client.get(f"/plans/{plan_id}", headers=for_sam)
    history = client.get(f"/plans/{plan_id}/history", headers=for_sam)
    care_plan = client.get(f"/fhir/CarePlan/{plan_id}", headers=for_sam)
    for answer in (plan, history, care_plan):
        assert answer.status_code == 200
        assert "tracking" not in answer.text and "coercive" not in answer.text
        assert "SDV" not in answer.text
    for_alex = client.get(f"/plans/{plan_id}", headers=headers(**{"X-Acting-For": ALEX}))
    shift = for_alex.json()["format_shifts"][0]
    assert shift["reason"] == "coercive-control"  # the partner it concerns sees the code
    assert shift["redacted"] == ["rationale"]  # a client's view never has the free text
    staff = client.get(f"/plans/{plan_id}", headers=headers()).json()["format_shifts"][0]
    assert staff["rationale"].startswith("disclosed")


def test_history_lists_who_when_and_why_and_pages(client: TestClient):
    plan_id = active_plan(client)
    page = client.get(f"/plans/{plan_id}/history?limit=1&offset=1", headers=headers()).json()
    assert page["total"] == 2 and page["next_offset"] is None
    entry = page["items"][0]
    assert entry["event"] == "PlanStatusChanged"
    assert entry["meta"]["actor_id"] == THERAPIST
    assert entry["meta"]["actor_role"] == "clinician"
    assert entry["meta"]["correlation_id"]
    assert dt.datetime.fromisoformat(entry["timestamp"])


def test_version_and_at_return_the_plan_as_it_was(client: TestClient):
    plan_id = active_plan(client)
    at = client.get(f"/plans/{plan_id}/history", headers=headers()).json()["items"][0]["timestamp"]
    old = client.get(f"/plans/{plan_id}?version=1", headers=headers())
    assert (old.json()["status"], old.headers["ETag"]) == ("draft", 'W/"1"')
    then = client.get(f"/plans/{plan_id}", params={"at": at}, headers=headers())
    assert then.json()["status"] == "draft"
    assert client.get(f"/plans/{plan_id}?version=9", headers=headers()).status_code == 404


def test_plans_are_listed_by_client_with_pagination(client: TestClient):
    first, second = active_plan(client), active_plan(client)
    client.post(
        "/plans",
        json=plan_body(members=[{"client_id": "x"}, {"client_id": "y"}]),
        headers=headers(),
    )
    page = client.get("/plans", params={"subject": ALEX, "limit": 1}, headers=headers()).json()
    assert (page["total"], page["next_offset"]) == (2, 1)
    assert page["items"][0]["id"] == first
    rest = client.get("/plans", params={"subject": ALEX, "offset": 1}, headers=headers()).json()
    assert [p["id"] for p in rest["items"]] == [second]


def test_the_worklists_answer_over_http(client: TestClient):
    plan_id = active_plan(client)
    due = client.get("/worklists/reviews-due", params={"on": "2026-02-10"}, headers=headers())
    assert [r["plan_id"] for r in due.json()["items"]] == [plan_id]
    assert due.json()["items"][0]["overdue"] is True
    session = {
        "format": "individual",
        "partner_id": ALEX,
        "modality": "telehealth",
        "held_on": "2026-01-12",
        "focus_issues": ["safety"],
        "sharing_agreement_id": AGREEMENT,
    }
    assert (
        client.post(f"/plans/{plan_id}/sessions", json=session, headers=headers()).status_code
        == 201
    )
    flagged = client.get(
        "/worklists/uneven-growth", params={"on": "2026-03-02"}, headers=headers("coordinator")
    ).json()
    assert [(r["plan_id"], r["partner_id"]) for r in flagged["items"]] == [(plan_id, ALEX)]


def test_the_openapi_document_lists_every_route(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/plans",
        "/plans/{plan_id}/format-shifts",
        "/plans/{plan_id}/history",
        "/fhir/CarePlan/{plan_id}/_history/{version}",
        "/worklists/uneven-growth",
        "/worklists/confidences-due",
        "/plans/{plan_id}/sessions/{session_id}/confidence",
    ):
        assert path in paths
    assert client.get("/docs").status_code == 200


def test_a_non_finite_number_is_a_422_not_a_stored_nan(client: TestClient):
    plan_id = active_plan(client)
    body = (
        b'{"description": "d", "partners": ["client-alex"], "measure": "m", "unit": "u",'
        b' "baseline": NaN, "target": 1, "due_on": "2026-06-01"}'
    )
    answer = client.post(
        f"/plans/{plan_id}/goals",
        content=body,
        headers=headers(**{"Content-Type": "application/json"}),
    )
    assert answer.status_code == 422
    assert "baseline" in answer.json()["errors"]


def test_a_huge_version_is_a_4xx(client: TestClient):
    plan_id = active_plan(client)
    assert client.get(f"/plans/{plan_id}?version={2**40}", headers=headers()).status_code == 422
    answer = client.get(f"/fhir/CarePlan/{plan_id}/_history/{2**40}", headers=headers())
    assert answer.status_code == 422
