"""Partner B's individual material reaches nothing on partner A's side, no topic and no log.

On the real stack (every service a process, the consent service deciding): a strict couple;
partner B's individual session carries a unique marker in its focus issues, homework and a
check-in trigger, B's PHQ-9 and a format shift about B carry the marker in its rationale. Then
every read of partner A's side (A's own portal token, A's individual therapist, the couple's
therapist relaying to A) through every plan read route holds neither the marker nor B's
scores; no record of any `careledger.*` topic holds the marker; no service log holds it. The
couple's therapist still reads it all (the marker was stored, not lost).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer

from services.common.settings import Settings
from services.demo.client import Practice
from services.demo.couple import CLINICIAN, JourneyResult, individual_session, start_couple, today

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]
MARK = f"zq-{uuid.uuid4().hex[:12]}"
SEES_A = "clinician-partner-a-alone"


def plant(practice: Practice) -> tuple[Any, str]:
    """A strict couple whose partner B has individual material holding the marker."""
    couple = start_couple(practice, JourneyResult("privacy", practice.tenant), mode="strict")
    base = f"/plans/{couple.plan_id}"
    practice.call(
        "plan",
        "POST",
        f"{base}/care-team",
        action="A's own therapist joins",
        role="clinician",
        sub=CLINICIAN,
        json={
            "clinician_id": SEES_A,
            "roles": ["individual-therapist"],
            "clients": [couple.partner_a],
            "reason": "intake",
        },
    )
    individual_session(practice, couple, couple.partner_a, "Partner A")
    practice.call(
        "plan",
        "POST",
        f"{base}/sessions",
        action="B alone, with the marker",
        role="clinician",
        sub=CLINICIAN,
        json={
            "format": "individual",
            "modality": "telehealth",
            "held_on": today().isoformat(),
            "partner_id": couple.partner_b,
            "focus_issues": [MARK],
            "homework": [MARK],
            "check_ins": [{"partner_id": couple.partner_b, "mood": 3, "triggers": [MARK]}],
            "sharing_agreement_id": couple.agreement_id,
        },
    )
    practice.call(
        "plan",
        "POST",
        f"{base}/measurements",
        action="B's PHQ-9",
        role="clinician",
        sub=CLINICIAN,
        json={
            "partner_id": couple.partner_b,
            "measure": "phq-9",
            "items": [2] * 9,
            "taken_on": today().isoformat(),
        },
    )
    practice.call(
        "plan",
        "POST",
        f"{base}/format-shifts",
        action="a shift about B",
        role="clinician",
        sub=CLINICIAN,
        json={
            "reason": "self-harm-risk",
            "rationale": MARK,
            "about_partner_id": couple.partner_b,
            "decided_by": CLINICIAN,
            "effective_on": today().isoformat(),
            "review_on": (today() + dt.timedelta(weeks=2)).isoformat(),
            "mix": {"joint": 0, "individual": 2},
        },
    )
    return couple, couple.trust_goal_id


def reads(couple: Any, goal_id: str) -> list[str]:
    plan = f"/plans/{couple.plan_id}"
    care_plan, b = f"/fhir/CarePlan/{couple.plan_id}", couple.partner_b
    return [
        plan,
        f"{plan}?version=3",
        f"{plan}/history",
        f"/plans?subject={b}",
        care_plan,
        f"{care_plan}/_history/3",
        f"/fhir/CarePlan?subject=Patient/{b}",
        f"/fhir/Goal/{goal_id}",
    ]


def careledger_records(bootstrap: str) -> list[tuple[bytes, bytes]]:
    """Every committed record of every careledger.* topic: (key, value and header values)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=5_000,
    )
    try:
        names = sorted(t for t in consumer.topics() if t.startswith("careledger."))
        consumer.subscribe(names)
        return [
            (m.key or b"", (m.value or b"") + b"".join(v or b"" for _, v in m.headers or []))
            for m in consumer
        ]
    finally:
        consumer.close()


def test_partner_bs_material_is_in_no_answer_to_partner_as_side_no_record_and_no_log(
    practice: Practice, e2e_settings: Settings, e2e_home: Path
) -> None:
    couple, goal_id = plant(practice)
    plan_url = practice.urls["plan"].rstrip("/")
    a_portal = practice.tokens.mint(
        f"portal-{couple.partner_a}", practice.tenant, ["client"], patient=couple.partner_a
    )
    sides = {
        "A's portal": {"Authorization": f"Bearer {a_portal}"},
        "A's individual therapist": {
            "Authorization": f"Bearer {practice.token('clinician', SEES_A)}"
        },
        "the couple's therapist relaying to A": {
            "Authorization": f"Bearer {practice.token('clinician', CLINICIAN)}",
            "X-Acting-For": couple.partner_a,
        },
    }
    leaks, answered = [], 0
    with httpx.Client(base_url=plan_url, timeout=30) as http:
        for side, headers in sides.items():
            for path in reads(couple, goal_id):
                answer = http.get(path, headers=headers)
                answered += answer.status_code == 200
                if MARK in answer.text or "44261-6" in answer.text:
                    leaks.append(f"{side}: GET {path} ({answer.status_code})")
        lead = {"Authorization": f"Bearer {practice.token('clinician', CLINICIAN)}"}
        whole = http.get(f"/plans/{couple.plan_id}", headers=lead).json()
    assert leaks == [], "partner B's material reached A's side:\n" + "\n".join(leaks)
    assert answered >= 3 * 6, "A's side reads its plan (only B's material is withheld)"
    assert MARK in str(whole["sessions"]) and MARK in str(whole["format_shifts"])

    # Wait until every event of the plan is on its topic, so that absence there means something.
    key, deadline = couple.plan_id.encode(), time.monotonic() + 90
    records = careledger_records(e2e_settings.kafka_bootstrap)
    while sum(k == key for k, _ in records) < whole["version"] and time.monotonic() < deadline:
        time.sleep(2)
        records = careledger_records(e2e_settings.kafka_bootstrap)
    assert sum(k == key for k, _ in records) >= whole["version"], "the plan's events arrived"
    on_topics = [k for k, blob in records if MARK.encode() in blob]
    assert on_topics == [], f"{len(on_topics)} records on careledger.* topics hold the marker"
    logs = sorted((e2e_home / "logs").glob("*.log"))
    assert {p.name for p in logs} >= {"plan-api.log", "consent-api.log", "plan-relay.log"}
    logged = [p.name for p in logs if MARK in p.read_text("utf-8", "replace")]
    assert logged == [], f"the marker is in logs: {logged}"
