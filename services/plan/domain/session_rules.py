"""The rules of a plan's sessions: recording one, and resolving a confidence it holds.

Joint sessions wait while joint work is paused; an individual session names its partner and, in
couples work, rests on the information-sharing agreement in force.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from services.common.errors import Conflict, NotFound, RuleBroken
from services.plan.domain import checks, sharing
from services.plan.domain.commands import RecordSession, ResolveConfidence
from services.plan.domain.formats import JOINT_FORMATS, MODALITIES, one_of
from services.plan.domain.sharing import AgreementInForce, session_terms
from services.plan.domain.state import (
    PlanState,
    clinician,
    formats,
    member,
    member_ids,
    require_active,
    require_open,
)

PAUSED = (
    "joint work is paused by a format shift: record a readiness decision and a "
    "'ready-to-resume' format shift first"
)


def recorded(
    plan: PlanState, command: RecordSession, agreement: AgreementInForce | None
) -> dict[str, Any]:
    """A session: who attended, their check-ins, its focus and the sharing terms it rests on."""
    require_active(plan, "recording a session")
    format, partner_id = command.format, command.partner_id
    one_of(format, formats(plan), "format")
    one_of(command.modality, MODALITIES, "modality")
    if format in JOINT_FORMATS and plan.joint_paused:
        raise Conflict(PAUSED)
    ids = member_ids(plan)
    if format == "individual":
        if partner_id is None and len(ids) == 1:
            partner_id = ids[0]
        seen = [member(plan, partner_id, "partner_id")]
    elif command.attendees:
        seen = [member(plan, a, f"attendees[{i}]") for i, a in enumerate(command.attendees)]
    else:
        seen = [member(plan, partner_id, "partner_id")] if partner_id else ids
    check_ins = []
    for i, entry in enumerate(command.check_ins):
        who = member(plan, entry.get("partner_id"), f"check_ins[{i}].partner_id")
        if who not in seen:
            raise RuleBroken("not at this session", {f"check_ins[{i}].partner_id": "an attendee"})
        mood = checks.number(entry.get("mood"), f"check_ins[{i}].mood")
        if not 0 <= mood <= 10:
            raise RuleBroken("mood out of range", {f"check_ins[{i}].mood": "rate mood 0-10"})
        triggers = checks.texts(entry.get("triggers") or (), f"check_ins[{i}].triggers", most=10)
        check_ins.append({"partner_id": who, "mood": mood, "triggers": triggers})
    terms = session_terms(
        unit_kind=plan.unit_kind,
        format=format,
        held_on=command.held_on,
        agreement=agreement,
        partner_ids=ids,
        sharing_agreement_id=command.sharing_agreement_id,
        share_by=command.share_by,
    )
    held_by = command.clinician_id
    return {
        "session_id": str(uuid4()),
        "format": format,
        "modality": command.modality,
        "held_on": command.held_on,
        "partner_id": partner_id if format == "individual" else None,
        "attendees": list(dict.fromkeys(seen)),
        "clinician_id": clinician(plan, held_by, "clinician_id") if held_by else None,
        "check_ins": check_ins,
        "focus_issues": checks.texts(command.focus_issues, "focus_issues", least=1, most=2),
        "homework": checks.texts(command.homework, "homework", most=10),
        **terms,
        "security_labels": ["PSY"],
    }


def confidence_resolved(plan: PlanState, command: ResolveConfidence) -> dict[str, Any]:
    """A confidence held until a share-by date was shared, or is no longer held."""
    require_open(plan)
    session_id = command.session_id
    session = next((s for s in plan.sessions if s["session_id"] == session_id), None)
    if session is None:
        raise NotFound(f"no session {session_id} in plan {plan.id}")
    if session.get("share_by") is None:
        raise Conflict(f"session {session_id} holds nothing in confidence")
    if session.get("confidence") is not None:
        raise Conflict(f"the confidence of session {session_id} is already resolved")
    one_of(command.outcome, sharing.RESOLUTIONS, "outcome")
    if command.resolved_on < session["held_on"]:
        raise RuleBroken(
            "resolved before the session", {"resolved_on": "the session's day or later"}
        )
    return {
        "session_id": session_id,
        "outcome": command.outcome,
        "resolved_on": command.resolved_on,
    }
