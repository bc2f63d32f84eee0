"""FHIR R4 views (R4B models of fhir.resources): Consent, AuditEvent and their Bundles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent

from services.common.fhir import ACT_CODE, security_labels

ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CATEGORY_LOINC = "http://loinc.org"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_SUBTYPE = "http://hl7.org/fhir/restful-interaction"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DATA_CATEGORY = "https://careledger.example/fhir/CodeSystem/data-category"
RECIPIENT_KIND = "https://careledger.example/fhir/CodeSystem/recipient-kind"
PART2_POLICY = "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"
HIPAA_POLICY = "https://www.hhs.gov/hipaa/for-professionals/privacy/index.html"


def _reference(kind: str, ident: str | None, display: str | None = None) -> dict[str, Any]:
    reference: dict[str, Any] = {"identifier": {"system": RECIPIENT_KIND + "/" + kind}}
    if ident:
        reference["identifier"]["value"] = ident
    if display:
        reference["display"] = display
    return reference


def _provision(data: Mapping[str, Any], start: Any = None, end: Any = None) -> dict[str, Any]:
    provision: dict[str, Any] = {"type": data["type"]}
    if start or end:
        provision["period"] = {
            k: v.isoformat() for k, v in (("start", start), ("end", end)) if v is not None
        }
    actors = [
        {
            "role": {"coding": [{"system": PARTICIPATION, "code": "IRCP"}]},
            "reference": _reference(r["kind"], r.get("id"), r.get("designation")),
        }
        for r in data.get("recipients") or ()
    ]
    if actors:
        provision["actor"] = actors
    if data.get("purposes"):
        provision["purpose"] = [{"system": ACT_REASON, "code": p} for p in data["purposes"]]
    if data.get("labels"):
        provision["securityLabel"] = security_labels(data["labels"])
    if data.get("categories"):
        provision["class"] = [{"system": DATA_CATEGORY, "code": c} for c in data["categories"]]
    nested = [_provision(p) for p in data.get("provisions") or ()]
    if nested:
        provision["provision"] = nested
    return provision


_FHIR_STATUS = {
    "draft": "draft",
    "proposed": "proposed",
    "active": "active",
    "inactive": "inactive",
    "rejected": "rejected",
    "entered-in-error": "entered-in-error",
}


def consent_resource(view: Mapping[str, Any], last_updated: dt.datetime | None = None) -> Consent:
    """The FHIR Consent of one directive version (meta.versionId is the aggregate version)."""
    root = {
        "type": view["provision_type"],
        "recipients": view["recipients"],
        "purposes": view["purposes"],
        "labels": view["labels"],
        "categories": view["categories"],
        "provisions": view["provisions"],
    }
    meta: dict[str, Any] = {
        "versionId": str(view["version"]),
        "security": security_labels(view["labels"]),
    }
    if last_updated is not None:
        meta["lastUpdated"] = last_updated.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": view["consent_id"],
        "meta": meta,
        "status": _FHIR_STATUS[view["status"]],
        "scope": {"coding": [{"system": SCOPE, "code": view["scope"]}]},
        "category": [{"coding": [{"system": CATEGORY_LOINC, "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{view['person_id']}"},
        "performer": [{"reference": f"Patient/{view['person_id']}"}],
        "organization": [{"identifier": {"value": d}} for d in view["disclosers"]],
        "policy": [{"uri": PART2_POLICY if view["part2"] else HIPAA_POLICY}],
        "provision": _provision(root, view.get("start"), view.get("end")),
    }
    signature = view.get("signature") or {}
    if signature.get("signed_on"):
        resource["dateTime"] = str(signature["signed_on"])
    return Consent.model_validate(resource)


def disclosure_audit_event(row: Mapping[str, Any]) -> AuditEvent:
    """A disclosure as AuditEvent: type 110106 Export, subtype disclose, three agents."""
    recipient = row["recipient"]
    agents: list[dict[str, Any]] = [
        {
            "type": {"coding": [{"system": DICOM, "code": "110153", "display": "Source"}]},
            "who": {"identifier": {"value": row["disclosed_by"]}},
            "requestor": True,
        },
        {
            "type": {"coding": [{"system": DICOM, "code": "110152", "display": "Destination"}]},
            "who": _reference(recipient["kind"], recipient.get("id"), recipient.get("name")),
            "requestor": False,
        },
    ]
    if row.get("consent_id"):
        agents.append(
            {
                "type": {
                    "coding": [
                        {"system": PARTICIPATION, "code": "AUT", "display": "author (originator)"}
                    ]
                },
                "who": {"reference": f"Consent/{row['consent_id']}"},
                "requestor": False,
                "policy": [f"Consent/{row['consent_id']}/_history/{row['consent_version']}"],
            }
        )
    resource = {
        "resourceType": "AuditEvent",
        "id": row["disclosure_id"],
        "meta": {"security": security_labels(row["labels"])},
        "type": {"system": DICOM, "code": "110106", "display": "Export"},
        "subtype": [{"system": ACT_CODE, "code": "disclose", "display": "disclose"}],
        "action": "R",
        "recorded": _iso(row["disclosed_at"]),
        "outcome": "0",
        "purposeOfEvent": [{"coding": [{"system": ACT_REASON, "code": row["purpose"]}]}],
        "agent": agents,
        "source": {"observer": {"display": "careledger consent service"}},
        "entity": [
            {
                "what": {"reference": f"Patient/{row['person_id']}"},
                "description": row["description"],
                "securityLabel": security_labels(row["labels"]),
            }
        ],
    }
    return AuditEvent.model_validate(resource)


def bundle(resources: Iterable[Any], bundle_type: str = "searchset") -> Bundle:
    entries = [{"resource": r.model_dump(mode="json", exclude_none=True)} for r in resources]
    data: dict[str, Any] = {"resourceType": "Bundle", "type": bundle_type, "entry": entries}
    if bundle_type == "searchset":
        data["total"] = len(entries)
    return Bundle.model_validate(data)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else str(value)
