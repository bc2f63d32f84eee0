"""FHIR views (validated with fhir.resources R4B) and ServiceRequests posted by an EHR."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from services.referral.application import ReferralApplication
from tests.unit.referral.support_api_client import Api, referral_body

PLAN = str(uuid.uuid4())


@pytest.fixture
def api(app: ReferralApplication) -> Api:
    return Api(app)


def ehr_request(**overrides: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "identifier": [{"system": "urn:ehr", "value": "ehr-order-77"}],
        "code": {
            "coding": [
                {
                    "system": "https://careledger.example/fhir/CodeSystem/referral-type",
                    "code": "psychiatry",
                }
            ]
        },
        "priority": "asap",
        "subject": {"reference": "Patient/client-9"},
        "basedOn": [{"reference": f"CarePlan/{PLAN}"}],
        "reasonCode": [{"text": "medication review"}],
        "performer": [{"reference": "Organization/org-psy", "display": "Psychiatry Associates"}],
    }
    resource.update(overrides)
    return resource


def post(api: Api, resource: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api.post("/fhir/ServiceRequest", json=resource, role="integration", headers=headers)


def test_an_ehr_service_request_creates_a_draft_referral(api: Api) -> None:
    response = post(api, ehr_request())
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    resource = ServiceRequest.model_validate(response.json())
    referral = api.get(f"/referrals/{resource.id}").json()
    assert referral["origin"] == "ehr" and referral["source_id"] == "ehr-order-77"
    assert referral["referral_type"] == "psychiatry" and referral["priority"] == "asap"
    assert referral["client_id"] == "client-9" and referral["plan_id"] == PLAN
    assert referral["organization"] == {"id": "org-psy", "name": "Psychiatry Associates"}


def test_a_service_request_retried_with_the_same_key_creates_one_referral(
    api: Api, app: ReferralApplication
) -> None:
    first = post(api, ehr_request(), key="ehr-retry-1")
    again = post(api, ehr_request(), key="ehr-retry-1")
    assert first.json()["id"] == again.json()["id"]
    assert len(app.summaries.every(app, tenant="practice-a")) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": {"reference": "Group/g1"}}, "subject"),
        ({"basedOn": []}, "basedOn"),
        ({"code": {"text": "something"}}, "code"),
        ({"reasonCode": []}, "reasonCode"),
        ({"resourceType": "Task"}, "resourceType"),
        ({"status": "bogus"}, "status"),
    ],
)
def test_a_service_request_that_cannot_be_a_referral_is_a_422_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    response = post(api, ehr_request(**change))
    assert response.status_code == 422, response.text
    assert any(key.startswith(field) for key in response.json()["errors"])


def test_the_views_and_their_history_validate_as_fhir(api: Api) -> None:
    rid = api.post("/referrals", json=referral_body()).json()["id"]
    api.post(f"/referrals/{rid}/send")
    api.post(f"/referrals/{rid}/accept")
    task = Task.model_validate(api.get(f"/fhir/Task/{rid}").json())
    assert task.status == "accepted" and task.businessStatus.text == "Accepted"
    assert task.input[0].valueString == "dec-1"
    first = Task.model_validate(api.get(f"/fhir/Task/{rid}/_history/1").json())
    assert first.status == "draft" and first.meta.versionId == "1"
    request = ServiceRequest.model_validate(api.get(f"/fhir/ServiceRequest/{rid}").json())
    assert request.status == "active"
    assert {c.code for c in request.meta.security} == {"42CFRPart2", "ETH", "R"}
    old = api.get(f"/fhir/ServiceRequest/{rid}/_history/1")
    assert ServiceRequest.model_validate(old.json()).status == "draft"
    assert old.headers["ETag"] == 'W/"1"'


def test_a_missing_version_is_a_404(api: Api) -> None:
    rid = api.post("/referrals", json=referral_body()).json()["id"]
    assert api.get(f"/fhir/Task/{rid}/_history/9").status_code == 404
    assert api.get(f"/fhir/Task/{rid}/_history/0").status_code in (404, 422)
