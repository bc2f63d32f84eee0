"""Builders for the plan service's unit tests: a couple's plan, goals and shifts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.plan.domain.commands import RecordReadiness

TENANT = "practice-1"
ALEX, SAM = "client-alex", "client-sam"
THERAPIST, INDIVIDUAL_THERAPIST = "clin-rivera", "clin-chen"
START = dt.date(2026, 1, 5)
AGREEMENT = "5a1c0e2d-7b3f-5c4e-9d8a-000000000007"


def agreement_view(
    mode: str = "no-secrets", signed: tuple[str, ...] = (ALEX, SAM), terms_version: int = 1
) -> dict[str, Any]:
    """The couple's agreement as the consent service shows it (in force once both signed)."""
    signatures = dict.fromkeys(signed, "2026-01-02")
    in_force = (
        {"terms_version": terms_version, "mode": mode, "carve_outs": [], "signatures": signatures}
        if set(signed) == {ALEX, SAM}
        else None
    )
    return {
        "agreement_id": AGREEMENT,
        "partner_ids": [ALEX, SAM],
        "in_force": in_force,
        "pending_terms": {"terms_version": terms_version, "mode": mode, "signatures": signatures},
    }


def couple_plan_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "unit_kind": "couple",
        "members": [{"client_id": ALEX, "sex": "female"}, {"client_id": SAM, "sex": "male"}],
        "clinicians": [
            {"clinician_id": THERAPIST, "roles": ["couples-therapist"]},
            {"clinician_id": INDIVIDUAL_THERAPIST, "roles": ["individual-therapist"]},
        ],
        "mix": {"joint": 2, "individual": 2},
        "starts_on": START,
    }
    fields.update(overrides)
    return fields


def joint_goal(**overrides: Any) -> dict[str, Any]:
    goal: dict[str, Any] = {
        "description": "reduce shutdowns from daily to weekly",
        "partners": [ALEX, SAM],
        "measure": "shutdowns",
        "unit": "per week",
        "baseline": 7,
        "target": 1,
        "due_on": dt.date(2026, 6, 1),
        "status": "active",
    }
    goal.update(overrides)
    return goal


def shift_fields(**overrides: Any) -> dict[str, Any]:
    shift: dict[str, Any] = {
        "reason": "coercive-control",
        "rationale": "disclosed monitoring of phone and finances in individual session",
        "about_partner_id": ALEX,
        "decided_by": THERAPIST,
        "effective_on": dt.date(2026, 2, 1),
        "review_on": dt.date(2026, 3, 1),
        "mix": {"joint": 0, "individual": 4},
    }
    shift.update(overrides)
    return shift


def phq9(total_item9: int = 0, each: int = 1) -> list[int]:
    return [each] * 8 + [total_item9]


DAY = dt.date(2026, 1, 12)


def joint_session(**overrides: Any) -> dict[str, Any]:
    session: dict[str, Any] = {
        "format": "joint",
        "modality": "in-person",
        "held_on": DAY,
        "clinician_id": THERAPIST,
        "check_ins": [
            {"partner_id": ALEX, "mood": 6, "triggers": ["late reply to texts"]},
            {"partner_id": SAM, "mood": 4, "triggers": []},
        ],
        "focus_issues": ["repair after fights", "shared time"],
        "homework": ["pause card twice this week"],
    }
    session.update(overrides)
    return session


def individual_session(partner: str = ALEX, **overrides: Any) -> dict[str, Any]:
    session = joint_session(
        format="individual",
        partner_id=partner,
        check_ins=[],
        modality="telehealth",
        sharing_agreement_id=AGREEMENT,
    )
    session.update(overrides)
    return session


def ready(app: Any, ctx: Any, plan_id: Any, is_ready: bool = True) -> None:
    app.record_readiness(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordReadiness(
            ready=is_ready,
            decided_by=THERAPIST,
            decided_on=dt.date(2026, 2, 20),
            criteria=["no coercive incidents for 8 weeks", "safety plan in place"],
        ),
    )


def resume(**overrides: Any) -> dict[str, Any]:
    return shift_fields(
        reason="ready-to-resume",
        mix={"joint": 2, "individual": 1},
        effective_on=dt.date(2026, 3, 1),
        review_on=dt.date(2026, 4, 1),
        rationale="criteria met",
        **overrides,
    )
