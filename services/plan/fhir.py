"""FHIR R4 (R4B models) views of a plan for EHRs: CarePlan, Goal and a searchset Bundle.

A couple or family is a contained Group of Patients (the EHR client ids); one person is the
Patient itself. Security labels travel in `meta.security`. A format shift's reason appears as
a note for staff and the partner it concerns; its free-text rationale never leaves the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.goal import Goal

from services.common.errors import NotFound
from services.common.fhir import as_json, searchset, security_labels
from services.common.viewer import Access
from services.plan.domain import Plan
from services.plan.domain import policy as p
from services.plan.domain.formats import JOINT_FORMATS, SHIFT_REASONS
from services.plan.domain.measures import MEASURES
from services.plan.views import shown

LOINC = "http://loinc.org"
ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
UNIT_TEXT = {
    "couple": "Couples therapy",
    "family": "Family therapy",
    "individual": "Individual therapy",
}


def _subject(plan: Plan, clients: Sequence[str]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """A reference to the one Patient, or to a contained Group of the clients."""
    if len(clients) == 1:
        return {"reference": f"Patient/{clients[0]}"}, []
    group = {
        "resourceType": "Group",
        "id": "unit",
        "type": "person",
        "actual": True,
        "name": UNIT_TEXT[plan.unit_kind] + " client unit",
        "member": [{"entity": {"reference": f"Patient/{c}"}} for c in clients],
    }
    return {"reference": "#unit"}, [group]


ROLE_TEXT = {
    "couples-therapist": "Couples therapist",
    "family-therapist": "Family therapist",
    "individual-therapist": "Individual therapist",
    "care-coordinator": "Care coordinator",
}


def care_team(plan: Plan) -> dict[str, Any]:
    """The plan's care team as a contained FHIR CareTeam (role per member, whom they serve)."""
    participants = []
    for entry in plan.clinicians:
        for role in entry["roles"]:
            participant: dict[str, Any] = {
                "role": [{"text": ROLE_TEXT[role], "coding": [{"code": role}]}],
                "member": {"reference": f"Practitioner/{entry['clinician_id']}"},
            }
            if role == "individual-therapist" and entry.get("clients"):
                participant["onBehalfOf"] = {
                    "display": "sees alone: " + ", ".join(f"Patient/{c}" for c in entry["clients"])
                }
            participants.append(participant)
    return {
        "resourceType": "CareTeam",
        "id": "team",
        "status": "active",
        "participant": participants or None,
    }


def care_plan(plan: Plan, reader: p.Reader) -> dict[str, Any]:
    """The plan as a FHIR CarePlan as this reader may see it, validated by the R4B model."""
    seen = shown(plan, reader)
    subject, contained = _subject(plan, plan.member_ids)
    activities = [
        {
            "detail": {
                "kind": "Appointment",
                "code": {"text": f"{fmt} session"},
                "status": "on-hold" if plan.joint_paused and fmt in JOINT_FORMATS else "scheduled",
                "description": f"{count} {fmt} session(s) every {plan.cadence_weeks} week(s)",
            }
        }
        for fmt, count in plan.mix.items()
        if count
    ]
    notes = [
        {
            "text": f"Format shift effective {s['effective_on'].isoformat()}: "
            f"{SHIFT_REASONS[s['reason']].display}; review {s['review_on'].isoformat()}"
        }
        for s in seen.shifts
        if "reason" in s
    ]
    resource = {
        "resourceType": "CarePlan",
        "id": str(plan.id),
        "meta": {
            "versionId": str(plan.version),
            "lastUpdated": plan.modified_on.isoformat(),
            "security": security_labels(seen.labels),
        },
        "contained": [*contained, care_team(plan)],
        "status": plan.status,
        "intent": "plan",
        "careTeam": [{"reference": "#team"}],
        "category": [{"text": UNIT_TEXT[plan.unit_kind]}],
        "title": f"{UNIT_TEXT[plan.unit_kind]} treatment plan",
        "subject": subject,
        "period": {"start": plan.starts_on.isoformat()},
        "created": plan.created_on.isoformat(),
        "contributor": [
            {"reference": f"Practitioner/{c['clinician_id']}", "display": ", ".join(c["roles"])}
            for c in plan.clinicians
        ],
        "goal": [{"reference": f"Goal/{g}"} for g in plan.goals],
        "activity": activities or None,
        "note": notes or None,
    }
    return as_json(CarePlan.model_validate(resource))


def goal(plan: Plan, goal_id: str, reader: p.Reader) -> dict[str, Any]:
    """One goal of the plan as a FHIR Goal (its details only for a full view of the plan)."""
    found = plan.goals.get(goal_id)
    if found is None:
        raise NotFound(f"no goal {goal_id}")
    if p.plan_frame(reader) is not Access.FULL:
        return as_json(Goal.model_validate(_goal_outline(plan, found)))
    subject, contained = _subject(plan, found["partners"])
    known = MEASURES.get(found["measure"])
    measure: dict[str, Any] = {"text": known.display if known else found["measure"]}
    if known and known.loinc:
        measure["coding"] = [{"system": LOINC, "code": known.loinc, "display": known.display}]
    resource = {
        "resourceType": "Goal",
        "id": goal_id,
        "meta": {
            "versionId": str(plan.version),
            "lastUpdated": plan.modified_on.isoformat(),
            "security": security_labels(["PSY"]),
        },
        "contained": contained or None,
        "lifecycleStatus": found["lifecycle_status"],
        "achievementStatus": {
            "coding": [{"system": ACHIEVEMENT, "code": found["achievement_status"]}]
        },
        "description": {"text": found["description"]},
        "subject": subject,
        "target": [
            {
                "measure": measure,
                "detailQuantity": {"value": found["target"], "unit": found["unit"]},
                "dueDate": found["due_on"].isoformat(),
            }
        ],
        "note": [{"text": f"Baseline {found['baseline']:g} {found['unit']}"}],
        "addresses": None,
    }
    return as_json(Goal.model_validate(resource))


def _goal_outline(plan: Plan, found: dict[str, Any]) -> dict[str, Any]:
    """A goal without its clinical detail: status and due date (minimum necessary)."""
    subject, contained = _subject(plan, found["partners"])
    return {
        "resourceType": "Goal",
        "id": found["goal_id"],
        "meta": {"versionId": str(plan.version), "lastUpdated": plan.modified_on.isoformat()},
        "contained": contained or None,
        "lifecycleStatus": found["lifecycle_status"],
        "description": {"text": "redacted: the goal's detail is for the care team"},
        "subject": subject,
        "target": [{"dueDate": found["due_on"].isoformat()}],
    }


def search_bundle(
    resources: Sequence[dict[str, Any]],
    total: int,
    base_url: str,
    links: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A searchset Bundle of CarePlans (one page of them, with `self`/`next` links)."""
    bundle = searchset(resources, total=total, links=links, full_url=f"{base_url}/fhir")
    return as_json(Bundle.model_validate(bundle))
