"""The four practice journeys, driving the plan, consent and referral APIs over HTTP.

Each journey works in the practice (tenant) it is given, with new client ids, and returns a
`JourneyResult`: the ids it made, what it found (statuses, decisions) and the `ce_id`s of the
stored events it expects on Kafka. Pass `kafka` to also read the three topics and compare them
with the stores (see kafka_check). Client ids and names are synthetic ("Partner A").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from services.demo.client import Practice
from services.demo.couple import (
    CLINICIAN,
    JourneyResult,
    individual_session,
    iso,
    start_couple,
    today,
    version_of,
)
from services.demo.referrals import detox_loop, family_therapy_referral

KafkaCheck = Callable[[JourneyResult], Any]
SESSION_CONTENT = {"categories": ["individual-session"], "labels": ["PSY", "SDV", "R"]}


def _finish(result: JourneyResult, kafka: KafkaCheck | None) -> JourneyResult:
    if kafka is not None:
        result.kafka = kafka(result)
    return result


def couples_therapy_starts(practice: Practice, kafka: KafkaCheck | None = None) -> JourneyResult:
    """1. No-secrets agreement, a plan with measurable goals, an individual session of Partner A
    tied to the agreement, measurements that show progress, and a review that shifts the mix."""
    result = JourneyResult("couples therapy starts", practice.tenant)
    couple = start_couple(practice, result, mode="no-secrets")
    base = f"/plans/{couple.plan_id}"
    result.ids["session_id"] = individual_session(practice, couple, couple.partner_a, "Partner A")
    for partner, label, value in (
        (couple.partner_a, "Partner A", 6),
        (couple.partner_b, "Partner B", 7),
    ):
        answer = practice.call(
            "plan",
            "POST",
            f"{base}/measurements",
            action=f"{label} rates trust {value}/10",
            role="clinician",
            sub=CLINICIAN,
            json={
                "partner_id": partner,
                "measure": "trust",
                "value": value,
                "taken_on": iso(today()),
            },
            outcome=lambda body: f"measurement {body['measurement_id']}",
        )
    result.expect_record("last measurement", couple.plan_id, version_of(answer.etag))
    goal = practice.call(
        "plan",
        "GET",
        f"/fhir/Goal/{couple.trust_goal_id}",
        action="read the trust goal (FHIR Goal)",
        role="clinician",
        sub=CLINICIAN,
        outcome=_achievement,
    )
    result.facts["achievement_before_review"] = _achievement(goal.body)
    review = practice.call(
        "plan",
        "POST",
        f"{base}/reviews",
        action="review: progress, more individual time",
        role="clinician",
        sub=CLINICIAN,
        json={
            "held_on": iso(today()),
            "goal_progress": [{"goal_id": couple.trust_goal_id, "achievement_status": "improving"}],
            "strategy_changes": ["add one individual session per partner"],
            "next_mix": {"joint": 2, "individual": 2},
        },
        outcome=lambda body: f"review {body['review_id']}",
    )
    result.expect_record("review", couple.plan_id, version_of(review.etag))
    plan = practice.call(
        "plan",
        "GET",
        base,
        action="read the plan",
        role="clinician",
        sub=CLINICIAN,
        outcome=_status,
    )
    result.facts.update(plan=plan.body, agreement_id=couple.agreement_id)
    return _finish(result, kafka)


def coercive_control_disclosed(
    practice: Practice, kafka: KafkaCheck | None = None
) -> JourneyResult:
    """2. Partner B discloses coercive control in an individual session: joint therapy pauses,
    and Partner A's clinician is denied the session content (strict agreement)."""
    result = JourneyResult("coercive control disclosed", practice.tenant)
    couple = start_couple(practice, result, mode="strict")
    result.ids["session_id"] = individual_session(practice, couple, couple.partner_b, "Partner B")
    shift = practice.call(
        "plan",
        "POST",
        f"/plans/{couple.plan_id}/format-shifts",
        action="pause joint therapy (coercive control)",
        role="clinician",
        sub=CLINICIAN,
        json={
            "reason": "coercive-control",
            "rationale": "Disclosed in an individual session",
            "about_partner_id": couple.partner_b,
            "decided_by": CLINICIAN,
            "effective_on": iso(today()),
            "review_on": iso(today() + dt.timedelta(weeks=2)),
            "mix": {"joint": 0, "individual": 2},
        },
        outcome=lambda body: f"shift {body['shift_id']}",
    )
    result.ids["shift_id"] = str(shift["shift_id"])
    result.expect_record("shift", couple.plan_id, version_of(shift.etag))
    decision = practice.call(
        "consent",
        "POST",
        "/decisions",
        action="Partner A's clinician asks to share the session with Partner A",
        role="clinician",
        sub="clinician-partner-a",
        json={
            "person_id": couple.partner_b,
            "recipient": {"kind": "partner", "id": couple.partner_a},
            "purpose": "TREAT",
            **SESSION_CONTENT,
            "context": {"individual_session": True},
        },
        outcome=_decision,
    )
    result.ids["decision_id"] = str(decision["decision_id"])
    result.facts["decision"] = decision.body
    result.expect_record("denial", str(decision["decision_id"]), 1)
    for label, acting_for in (("Partner A", couple.partner_a), ("Partner B", couple.partner_b)):
        seen = practice.call(
            "plan",
            "GET",
            f"/plans/{couple.plan_id}",
            action=f"read the plan as {label}",
            role="clinician",
            sub=CLINICIAN,
            headers={"X-Acting-For": acting_for},
            outcome=lambda body: f"labels {','.join(body.get('security_labels') or [])}",
        )
        result.facts[f"plan_as_{label[-1].lower()}"] = seen.body
    staff = practice.call(
        "plan",
        "GET",
        f"/plans/{couple.plan_id}",
        action="read the plan",
        role="clinician",
        sub=CLINICIAN,
        outcome=_status,
    )
    result.facts["plan"] = staff.body
    return _finish(result, kafka)


def substance_use_and_detox(
    practice: Practice, kafka: KafkaCheck | None = None, *, timeout: float = 60.0
) -> JourneyResult:
    """3. Partner A's substance use with withdrawal risk: joint work pauses, the referral
    service suggests detox, the referral is blocked until a Part 2 consent names the program,
    then goes through to completion; the plan notes the outcome and joint therapy resumes."""
    result = JourneyResult("substance use and detox", practice.tenant)
    couple = start_couple(practice, result, mode="no-secrets")
    base = f"/plans/{couple.plan_id}"
    shift = practice.call(
        "plan",
        "POST",
        f"{base}/format-shifts",
        action="pause joint therapy (withdrawal risk)",
        role="clinician",
        sub=CLINICIAN,
        json={
            "reason": "withdrawal-risk",
            "rationale": "Daily use, withdrawal symptoms",
            "about_partner_id": couple.partner_a,
            "decided_by": CLINICIAN,
            "effective_on": iso(today()),
            "review_on": iso(today() + dt.timedelta(weeks=2)),
            "mix": {"joint": 0, "individual": 2},
        },
        outcome=lambda body: f"shift {body['shift_id']}",
    )
    result.expect_record("pause", couple.plan_id, version_of(shift.etag))
    detox_loop(practice, result, couple, timeout=timeout)

    def noted() -> Any:
        plan = practice.quiet_get("plan", base, role="clinician", sub=CLINICIAN)
        referrals = (plan or {}).get("referrals") or []
        done = [r for r in referrals if str(r.get("referral_id")) == result.ids["referral_id"]]
        return plan if done and done[0].get("stage") == "completed" else None

    plan = practice.poll("the plan notes the completed referral", noted, timeout=timeout)
    result.facts["plan_referrals"] = plan.get("referrals")
    practice.call(
        "plan",
        "POST",
        f"{base}/readiness-decisions",
        action="readiness: ready to resume joint work",
        role="clinician",
        sub=CLINICIAN,
        json={
            "ready": True,
            "criteria": ["detox completed", "engaged in outpatient care"],
            "decided_by": CLINICIAN,
            "decided_on": iso(today()),
        },
        outcome=lambda body: f"decision {body['decision_id']}",
    )
    resume = practice.call(
        "plan",
        "POST",
        f"{base}/format-shifts",
        action="resume joint therapy",
        role="clinician",
        sub=CLINICIAN,
        json={
            "reason": "ready-to-resume",
            "rationale": "Readiness criteria met",
            "about_partner_id": couple.partner_a,
            "decided_by": CLINICIAN,
            "effective_on": iso(today()),
            "review_on": iso(today() + dt.timedelta(weeks=4)),
            "mix": {"joint": 2, "individual": 1},
        },
        outcome=lambda body: f"shift {body['shift_id']}",
    )
    result.expect_record("resume", couple.plan_id, version_of(resume.etag))
    final = practice.call(
        "plan",
        "GET",
        base,
        action="read the plan",
        role="clinician",
        sub=CLINICIAN,
        outcome=_status,
    )
    result.facts["plan"] = final.body
    return _finish(result, kafka)


def family_disclosures_audited(
    practice: Practice, kafka: KafkaCheck | None = None
) -> JourneyResult:
    """4. A family-therapy referral and a consented disclosure to a family member; compliance
    pulls each partner's accounting of disclosures and the denials, and finds every one."""
    result = JourneyResult("family disclosures audited", practice.tenant)
    couple = start_couple(practice, result, mode="strict")
    family_therapy_referral(practice, result, couple)
    return _finish(result, kafka)


def _status(body: Any) -> str:
    return f"status {(body or {}).get('status')}"


def _achievement(body: Any) -> str:
    status = (body or {}).get("achievementStatus") or {}
    codes = [c.get("code") for c in status.get("coding", [])]
    return str(codes[0]) if codes else "-"


def _decision(body: Any) -> str:
    basis = body.get("basis") or {}
    return f"{body['outcome']} ({basis.get('rule') or basis.get('consent_id')})"


ALL_JOURNEYS = (
    couples_therapy_starts,
    coercive_control_disclosed,
    substance_use_and_detox,
    family_disclosures_audited,
)
