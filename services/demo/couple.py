"""The start every journey shares: a couple, their sharing agreement and their plan with goals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from contracts.envelope import event_id
from services.demo.client import Practice, new_client_id

CLINICIAN = "clinician-couples-1"
COORDINATOR = "coordinator-1"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def iso(day: dt.date) -> str:
    return day.isoformat()


def version_of(etag: str | None) -> int:
    return int((etag or "0").strip('"W/'))


@dataclass
class JourneyResult:
    """What a journey did: its ids, what it found, and the Kafka records it must have produced.

    `records` maps a label ("shift", "denial") to the `ce_id` of the stored event it expects on
    Kafka; `kafka` is filled by the Kafka check.
    """

    name: str
    tenant: str
    ids: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    records: dict[str, str] = field(default_factory=dict)
    kafka: Any = None

    def expect_record(self, label: str, aggregate_id: str, version: int) -> None:
        self.records[label] = event_id(aggregate_id, version)


@dataclass
class Couple:
    partner_a: str
    partner_b: str
    plan_id: str
    agreement_id: str
    trust_goal_id: str
    pause_goal_id: str
    plan_version: int


def start_couple(practice: Practice, result: JourneyResult, *, mode: str) -> Couple:
    """Agreement signed by both partners (in force), an active plan with a joint and an own goal."""
    a, b = new_client_id("partner-a"), new_client_id("partner-b")
    agreement = practice.call(
        "consent",
        "POST",
        "/agreements",
        action=f"draft a {mode} sharing agreement",
        role="clinician",
        sub=CLINICIAN,
        json={"partner_ids": [a, b], "mode": mode},
        outcome=lambda body: f"agreement {body['agreement_id']}",
    )
    agreement_id = str(agreement["agreement_id"])
    for partner, label in ((a, "Partner A"), (b, "Partner B")):
        signed = practice.call(
            "consent",
            "POST",
            f"/agreements/{agreement_id}/signatures",
            action=f"{label} signs the agreement",
            role="clinician",
            sub=CLINICIAN,
            json={"partner_id": partner, "signed_on": iso(today())},
            outcome=lambda body: "in force" if body.get("in_force") else "pending",
        )
    result.facts["agreement_in_force"] = signed.body.get("in_force")
    plan = practice.call(
        "plan",
        "POST",
        "/plans",
        action="create the couple's plan",
        role="clinician",
        sub=CLINICIAN,
        json={
            "unit_kind": "couple",
            "members": [{"client_id": a, "sex": "male"}, {"client_id": b, "sex": "female"}],
            "clinicians": [
                {"clinician_id": CLINICIAN, "roles": ["couples-therapist", "individual-therapist"]}
            ],
            "mix": {"joint": 2, "individual": 1},
            "cadence_weeks": 4,
            "review_interval_weeks": 4,
            "starts_on": iso(today()),
        },
        outcome=lambda body: f"plan {body['plan_id']}",
    )
    plan_id = str(plan["plan_id"])
    base = f"/plans/{plan_id}"
    practice.call(
        "plan",
        "POST",
        f"{base}/status",
        action="activate the plan",
        role="clinician",
        sub=CLINICIAN,
        json={"status": "active"},
        outcome=lambda body: "active",
    )
    due = iso(today() + dt.timedelta(weeks=12))
    trust = practice.call(
        "plan",
        "POST",
        f"{base}/goals",
        action="add a joint goal: trust 4 -> 8",
        role="clinician",
        sub=CLINICIAN,
        json={
            "description": "Rebuild trust",
            "partners": [a, b],
            "measure": "trust",
            "unit": "score",
            "baseline": 4,
            "target": 8,
            "due_on": due,
            "status": "active",
        },
        outcome=lambda body: f"goal {body['goal_id']}",
    )
    pause = practice.call(
        "plan",
        "POST",
        f"{base}/goals",
        action="add Partner A's goal: pause card 0 -> 2/week",
        role="clinician",
        sub=CLINICIAN,
        json={
            "description": "Use a pause card during conflict",
            "partners": [a],
            "measure": "pause card uses",
            "unit": "per week",
            "baseline": 0,
            "target": 2,
            "due_on": due,
            "status": "active",
        },
        outcome=lambda body: f"goal {body['goal_id']}",
    )
    result.ids.update(partner_a=a, partner_b=b, plan_id=plan_id, agreement_id=agreement_id)
    return Couple(
        a,
        b,
        plan_id,
        agreement_id,
        str(trust["goal_id"]),
        str(pause["goal_id"]),
        version_of(pause.etag),
    )


def individual_session(practice: Practice, couple: Couple, partner: str, label: str) -> str:
    """An individual session of one partner, tied to the couple's agreement in force."""
    answer = practice.call(
        "plan",
        "POST",
        f"/plans/{couple.plan_id}/sessions",
        action=f"{label} attends an individual session",
        role="clinician",
        sub=CLINICIAN,
        json={
            "format": "individual",
            "modality": "in-person",
            "held_on": iso(today()),
            "partner_id": partner,
            "focus_issues": ["conflict patterns"],
            "sharing_agreement_id": couple.agreement_id,
        },
        outcome=lambda body: f"session {body['session_id']}",
    )
    return str(answer["session_id"])
