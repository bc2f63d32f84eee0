"""The referral HTTP API over the in-memory store, with a fake consent gate."""

from __future__ import annotations

from typing import Any

import pytest

from services.referral.application import ReferralApplication
from tests.unit.referral.support_api_client import Api, referral_body
from tests.unit.referral.support_helpers import FakeConsentGate


@pytest.fixture
def api(app: ReferralApplication) -> Api:
    return Api(app)


def created(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.post("/referrals", json=referral_body(**overrides))
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == 'W/"1"'
    body: dict[str, Any] = response.json()
    return body


def test_a_coordinator_drafts_a_referral_and_owns_it(api: Api) -> None:
    referral = created(api)
    assert referral["status"] == "draft" and referral["coordinator_id"] == "coord-1"
    assert referral["allowed_steps"] == ["cancel", "mark-entered-in-error", "revise", "send"]


def test_a_permitted_send_records_the_decision_and_forwards_the_callers_token(
    api: Api, gate: FakeConsentGate
) -> None:
    rid = created(api)["id"]
    token = api.token()  # minted once: a second later it would differ in iat and exp
    response = api.client.post(
        f"/referrals/{rid}/send", headers={"If-Match": '"1"', "Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["consent"]["decision_id"] == "dec-1"
    assert gate.requests[0][1] == token


def test_a_send_without_consent_is_a_409_naming_the_missing_consent(
    api: Api, gate: FakeConsentGate
) -> None:
    gate.outcome = "NO_CONSENT"
    rid = created(api)["id"]
    response = api.post(f"/referrals/{rid}/send")
    assert response.status_code == 409
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert "Part 2 written consent" in problem["detail"]
    assert problem["outcome"] == "NO_CONSENT" and problem["decision_id"] == "dec-1"
    worklist = api.get("/referrals/worklist", params={"reason": "blocked-by-consent"}).json()
    assert [item["id"] for item in worklist["items"]] == [rid]


def test_an_unreachable_consent_service_is_a_503_and_nothing_is_sent(
    api: Api, gate: FakeConsentGate
) -> None:
    gate.down = True
    rid = created(api)["id"]
    assert api.post(f"/referrals/{rid}/send").status_code == 503
    assert api.get(f"/referrals/{rid}").json()["status"] == "draft"


def test_an_invalid_step_is_a_409_naming_the_allowed_steps(api: Api) -> None:
    rid = created(api)["id"]
    response = api.post(f"/referrals/{rid}/accept", role="integration")
    assert response.status_code == 409
    assert response.json()["allowed_steps"] == ["cancel", "mark-entered-in-error", "revise", "send"]


def test_a_stale_if_match_is_a_412(api: Api) -> None:
    rid = created(api)["id"]
    response = api.post(f"/referrals/{rid}/cancel", headers={"If-Match": '"5"'})
    assert response.status_code == 412


def test_if_match_takes_the_etag_as_read_now_and_in_the_strong_form_sent_before(api: Api) -> None:
    rid = created(api)["id"]
    read = api.get(f"/referrals/{rid}")
    fhir = api.get(f"/fhir/ServiceRequest/{rid}")
    assert read.headers["ETag"] == fhir.headers["ETag"] == 'W/"1"'
    revised = api.post(
        f"/referrals/{rid}/revise",
        json={k: v for k, v in referral_body(reason="asked again").items() if k != "plan_id"},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert (revised.status_code, revised.headers["ETag"]) == (200, 'W/"2"')
    cancelled = api.post(f"/referrals/{rid}/cancel", headers={"If-Match": '"2"'})
    assert (cancelled.status_code, cancelled.headers["ETag"]) == (200, 'W/"3"')
    stale = api.post(f"/referrals/{rid}/mark-entered-in-error", headers={"If-Match": 'W/"2"'})
    assert stale.status_code == 412


def test_the_whole_loop_runs_over_http_and_the_history_says_who_when_and_why(api: Api) -> None:
    rid = created(api)["id"]
    api.post(f"/referrals/{rid}/send")
    steps = [
        ("accept", {"note": "bed available"}),
        ("schedule", {"appointment_at": "2026-03-03T10:00:00Z"}),
        ("record-attendance", None),
        ("complete", {"outcome": "treatment-completed"}),
    ]
    for step, body in steps:
        response = api.post(f"/referrals/{rid}/{step}", json=body, role="integration")
        assert response.status_code == 200, (step, response.text)
    assert response.json()["business_status"] == "Completed"
    history = api.get(f"/referrals/{rid}/history", role="compliance").json()["items"]
    assert [h["event"] for h in history][-4:] == [
        "ReferralAccepted",
        "AppointmentScheduled",
        "AppointmentAttended",
        "ReferralCompleted",
    ]
    assert history[2]["actor"] == {"id": "coord-1", "role": "integration"}
    assert history[2]["note"] == "bed available"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (referral_body(referral_type="massage"), "referral_type"),
        (referral_body(priority="whenever"), "priority"),
        (referral_body(plan_id="not-a-uuid"), "plan_id"),
        (referral_body(reason=""), "reason"),
        (referral_body(organization={"id": "o"}), "organization.name"),
        (referral_body(surprise=1), "surprise"),
        (referral_body(categories=["gossip"]), "categories"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/referrals", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


def test_a_schedule_without_a_time_zone_is_a_422(api: Api) -> None:
    rid = created(api)["id"]
    api.post(f"/referrals/{rid}/send")
    api.post(f"/referrals/{rid}/accept")
    response = api.post(f"/referrals/{rid}/schedule", json={"appointment_at": "2026-03-03T10:00"})
    assert response.status_code == 422 and "appointment_at" in response.json()["errors"]


def test_a_create_retried_with_the_same_idempotency_key_records_one_referral(api: Api) -> None:
    body = referral_body()
    first = api.post("/referrals", json=body, headers={"Idempotency-Key": "k-1"})
    again = api.post("/referrals", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["id"] == again.json()["id"]


def test_roles_are_enforced_and_tenants_are_isolated(api: Api) -> None:
    rid = created(api)["id"]
    assert api.client.get(f"/referrals/{rid}").status_code == 401
    assert api.post("/referrals", json=referral_body(), role="compliance").status_code == 403
    assert api.get(f"/referrals/{rid}", tenant="practice-b").status_code == 404


def test_the_worklist_is_paginated(api: Api, gate: FakeConsentGate) -> None:
    gate.outcome = "DENY"
    for _ in range(3):
        api.post(f"/referrals/{created(api)['id']}/send")
    page = api.get("/referrals/worklist", params={"limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_offset"] == 2


def test_metrics_need_a_valid_period(api: Api) -> None:
    assert api.get("/referrals/metrics", params={"from": "2026-03-01"}).status_code == 200
    response = api.get("/referrals/metrics", params={"from": "yesterday"})
    assert response.status_code == 422 and "from" in response.json()["errors"]
    reversed_period = {"from": "2026-03-02", "to": "2026-03-01"}
    assert api.get("/referrals/metrics", params=reversed_period).status_code == 422


def test_a_keyed_referral_id_is_never_shared_by_callers_whose_joined_ids_look_alike() -> None:
    from types import SimpleNamespace

    from services.referral.deps import keyed_id

    first = keyed_id(SimpleNamespace(tenant="a", sub="b/c"), "k")  # type: ignore[arg-type]
    second = keyed_id(SimpleNamespace(tenant="a/b", sub="c"), "k")  # type: ignore[arg-type]
    assert first is not None and first != second
