"""FHIR R4(B) views of a referral (ServiceRequest + Task) and the ServiceRequest an EHR posts.

Every view is validated by building the `fhir.resources` R4B model before it leaves.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task
from pydantic import ValidationError

from services.common.errors import RuleBroken
from services.common.fhir import as_json, security_labels
from services.referral.domain import REFERRAL_TYPES, Referral, State
from services.referral.domain.commands import DraftReferral
from services.referral.domain.vocabulary import OUTCOMES

BASE = "https://careledger.example/fhir"
TYPE_SYSTEM = f"{BASE}/CodeSystem/referral-type"
BUSINESS_STATUS_SYSTEM = f"{BASE}/CodeSystem/referral-business-status"
OUTCOME_SYSTEM = f"{BASE}/CodeSystem/referral-outcome"
_REQUEST_STATUS = {
    State.DRAFT: "draft",
    State.COMPLETED: "completed",
    State.ENTERED_IN_ERROR: "entered-in-error",
    State.DECLINED: "revoked",
    State.CANCELLED: "revoked",
    State.FULFILLMENT_CANCELLED: "revoked",
    State.FAILED: "revoked",
}


def _meta(referral: Referral) -> dict[str, Any]:
    return {
        "versionId": str(referral.version),
        "lastUpdated": referral.modified_on.isoformat(),
        "security": security_labels(referral.security_labels),
    }


def _subject(referral: Referral) -> dict[str, str]:
    if referral.client_id:
        return {"reference": f"Patient/{referral.client_id}"}
    return {"reference": f"Group/{referral.plan_id}", "display": "the client unit of the plan"}


def _owner(referral: Referral) -> dict[str, str] | None:
    org = referral.organization
    return {"reference": f"Organization/{org['id']}", "display": org["name"]} if org else None


def service_request(referral: Referral, *, clinical: bool = True) -> dict[str, Any]:
    """The referral as the order it is: what, for whom, why (`clinical` readers), to whom."""
    owner = _owner(referral)
    resource = {
        "resourceType": "ServiceRequest",
        "id": str(referral.id),
        "meta": _meta(referral),
        "status": _REQUEST_STATUS.get(referral.state, "active"),
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "3457005",
                        "display": "Patient referral",
                    }
                ]
            }
        ],
        "priority": referral.priority,
        "code": {
            "coding": [
                {
                    "system": TYPE_SYSTEM,
                    "code": referral.referral_type,
                    "display": REFERRAL_TYPES[referral.referral_type],
                }
            ]
        },
        "subject": _subject(referral),
        "basedOn": [{"reference": f"CarePlan/{referral.plan_id}"}],
        "authoredOn": referral.created_on.isoformat(),
        "reasonCode": [{"text": referral.reason}] if clinical else None,
        "performer": [owner] if owner else None,
        "requester": (
            {"reference": f"Practitioner/{referral.coordinator_id}"}
            if referral.coordinator_id
            else None
        ),
        "identifier": (
            [{"system": f"{BASE}/ehr-request", "value": referral.source_id}]
            if referral.origin == "ehr" and referral.source_id
            else None
        ),
    }
    return as_json(ServiceRequest.model_validate(_without_none(resource)))


def task(referral: Referral, *, clinical: bool = True) -> dict[str, Any]:
    """The fulfilment of the referral: FHIR Task.status plus the closed-loop business status
    (the decline reason for `clinical` readers only)."""
    business = referral.business_status
    consent = referral.consent or {}
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(referral.id),
        "meta": _meta(referral),
        "status": referral.task_status,
        "businessStatus": (
            {"coding": [{"system": BUSINESS_STATUS_SYSTEM, "code": business}], "text": business}
            if business
            else None
        ),
        "intent": "order",
        "priority": referral.priority,
        "focus": {"reference": f"ServiceRequest/{referral.id}"},
        "for": _subject(referral),
        "basedOn": [{"reference": f"CarePlan/{referral.plan_id}"}],
        "authoredOn": referral.created_on.isoformat(),
        "lastModified": referral.modified_on.isoformat(),
        "owner": _owner(referral),
        "statusReason": (
            {"text": referral.decline_reason} if referral.decline_reason and clinical else None
        ),
        "restriction": (
            {"period": {"end": referral.due["first_appointment_by"]}} if referral.due else None
        ),
        "input": (
            [{"type": {"text": "consent-decision"}, "valueString": consent["decision_id"]}]
            if consent.get("outcome") == "PERMIT"
            else None
        ),
        "output": (
            [
                {
                    "type": {"text": "outcome"},
                    "valueCodeableConcept": {
                        "coding": [
                            {
                                "system": OUTCOME_SYSTEM,
                                "code": referral.outcome,
                                "display": OUTCOMES[referral.outcome],
                            }
                        ]
                    },
                }
            ]
            if referral.outcome
            else None
        ),
    }
    return as_json(Task.model_validate(_without_none(resource)))


def _without_none(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if v is not None}


# -- an EHR's ServiceRequest -> the details of a draft referral ----------------------------


def _reference_id(reference: Any, kind: str) -> str | None:
    text = getattr(reference, "reference", None) or ""
    prefix = f"{kind}/"
    return text[len(prefix) :] if text.startswith(prefix) and len(text) > len(prefix) else None


def parse_service_request(data: Any) -> DraftReferral:
    """Validate an EHR's ServiceRequest (R4B) and map it to a draft; 422 naming fields."""
    if not isinstance(data, dict) or data.get("resourceType") != "ServiceRequest":
        raise RuleBroken(
            "the body is not a ServiceRequest", errors={"resourceType": "must be 'ServiceRequest'"}
        )
    try:
        request = ServiceRequest.model_validate(data)
    except ValidationError as exc:
        invalid = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in exc.errors()}
        raise RuleBroken("the ServiceRequest is not valid FHIR R4", errors=invalid) from None
    errors: dict[str, str] = {}
    if request.status not in ("draft", "active"):
        errors["status"] = "post a ServiceRequest whose status is 'active' (or 'draft')"
    client_id = _reference_id(request.subject, "Patient")
    if client_id is None:
        errors["subject"] = "reference the client as 'Patient/<client id>'"
    plan_ids = [_reference_id(ref, "CarePlan") for ref in request.basedOn or []]
    plan_id = _uuid(next((p for p in plan_ids if p), None))
    if plan_id is None:
        errors["basedOn"] = "reference the plan it serves as 'CarePlan/<plan uuid>'"
    codes = [c.code for c in (request.code.coding or [])] if request.code else []
    referral_type = next((c for c in codes if c in REFERRAL_TYPES), None)
    if referral_type is None:
        errors["code"] = f"code one of {', '.join(REFERRAL_TYPES)} (system {TYPE_SYSTEM})"
    reason = _reason(request)
    if not reason:
        errors["reasonCode"] = "give the reason as reasonCode[0].text"
    if request.priority not in (None, "routine", "urgent", "asap", "stat"):
        errors["priority"] = "use routine, urgent, asap or stat"
    organization = None
    for performer in request.performer or []:
        org_id = _reference_id(performer, "Organization")
        if org_id:
            organization = {"id": org_id, "name": performer.display or org_id}
            break
    if errors:
        raise RuleBroken("the ServiceRequest cannot become a referral", errors=errors)
    identifiers = [i.value for i in request.identifier or [] if i.value]
    assert plan_id is not None and referral_type is not None and reason  # checked above
    return DraftReferral(
        plan_id=plan_id,
        client_id=client_id,
        referral_type=referral_type,
        priority=request.priority or "routine",
        reason=reason,
        organization=organization,
        origin="ehr",
        source_id=identifiers[0] if identifiers else None,
    )


def _reason(request: Any) -> str | None:
    for concept in request.reasonCode or []:
        if concept.text:
            return str(concept.text)
        for coding in concept.coding or []:
            if coding.display:
                return str(coding.display)
    return None


def _uuid(text: str | None) -> UUID | None:
    try:
        return UUID(text) if text else None
    except ValueError:
        return None
