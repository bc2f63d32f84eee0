"""A valid body per write operation, so that twisted cases reach the domain (extremes.py).

Generated bodies rarely pass the domain's rules (a couple plan has two members, a mix plans at
least one session), and an edge value only shows what it breaks once everything else is valid.
"""

from __future__ import annotations

from typing import Any

from tests.unit.plan.support_api_client import goal_body, plan_body, shift_body
from tests.unit.plan.support_builders import ALEX, SAM, THERAPIST
from tests.unit.referral.support_api_client import referral_body
from tests.unit.test_access_matrix import DETOX

SESSION = {
    "format": "joint",
    "modality": "in-person",
    "held_on": "2026-02-02",
    "attendees": [ALEX, SAM],
    "focus_issues": ["repair"],
    "homework": ["notice bids"],
    "check_ins": [{"partner_id": ALEX, "mood": 6, "triggers": ["money"]}],
}
MEASUREMENT = {
    "partner_id": ALEX,
    "measure": "phq-9",
    "items": [1, 2, 1, 0, 1, 2, 1, 0, 1],
    "taken_on": "2026-01-12",
}
REVIEW = {
    "held_on": "2026-02-02",
    "strategy_changes": ["weekly check-in"],
    "next_mix": {"joint": 2, "individual": 1},
}
READINESS = {
    "ready": True,
    "criteria": ["safety plan in place"],
    "decided_by": THERAPIST,
    "decided_on": "2026-02-02",
}
CONSENT = {
    "person_id": "person-a",
    "disclosers": ["practice-home"],
    "description": "assessment and treatment plan",
    "recipients": [DETOX],
    "purposes": ["TREAT"],
    "categories": ["assessment"],
    "start": "2026-01-01",
    "end": "2027-01-01",
    "revocation_right_acknowledged": True,
    "signature": {"signed_by": "person-a", "signed_on": "2026-01-01"},
}
DECISION = {
    "person_id": "person-a",
    "recipient": DETOX,
    "purpose": "TREAT",
    "categories": ["assessment"],
    "labels": [],
}
DISCLOSURE = {
    "person_id": "person-a",
    "decision_id": "{decision_id}",
    "recipient": {**DETOX, "address": "1 Harbor Way"},
    "purpose": "TREAT",
    "description": "intake assessment",
    "categories": ["assessment"],
    "disclosed_at": "2026-03-01T10:00:00Z",
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "POST /plans": plan_body(),
    "POST /plans/{plan_id}/goals": goal_body(),
    "PATCH /plans/{plan_id}/goals/{goal_id}": {"due_on": "2026-09-01", "target": 2},
    "POST /plans/{plan_id}/format-shifts": shift_body(),
    "POST /plans/{plan_id}/sessions": SESSION,
    "POST /plans/{plan_id}/measurements": MEASUREMENT,
    "POST /plans/{plan_id}/reviews": REVIEW,
    "POST /plans/{plan_id}/readiness-decisions": READINESS,
    "PATCH /plans/{plan_id}/schedule": {"cadence_weeks": 2, "next_review_on": "2026-04-01"},
    "POST /referrals": referral_body(),
    "POST /referrals/{referral_id}/schedule": {"appointment_at": "2026-03-02T09:00:00Z"},
    "POST /agreements": {"partner_ids": ["person-a", "person-b"], "mode": "limited-secrets"},
    "POST /agreements/{agreement_id}/signatures": {
        "partner_id": "person-a",
        "signed_on": "2026-01-02",
    },
    "POST /consents": CONSENT,
    "POST /consents/{consent_id}/expiry": {"on": "2026-06-01"},
    "POST /decisions": DECISION,
    "POST /disclosures": DISCLOSURE,
}


def example_for(label: str, ids: dict[str, str]) -> dict[str, Any] | None:
    """A copy of the operation's example body with `{id}` placeholders filled from `ids`."""
    body = EXAMPLES.get(label)
    if body is None:
        return None
    return fill(body, ids)


def fill(value: Any, ids: dict[str, str]) -> Any:
    """`value` with every `{name}` string replaced by ids[name] (when it has one)."""
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids.get(value[1:-1], value)
    return value
