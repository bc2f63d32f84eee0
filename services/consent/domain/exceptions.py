"""The two paths that do not rest on the person's consents: break-glass and carve-outs (pure).

Break-glass is an emergency: a clinician, for treatment, discloses to a provider; never
counselling notes; for Part 2 data only as a medical emergency (42 CFR 2.51) with who received
it, their affiliation and the nature of the emergency (date and time are the decision's).
Carve-outs are the terms of the couple's agreement that its confidentiality never covered: an
imminent safety threat, a mandated report, a court order. For a partner receiving content of
an individual session, the agreement in force between the person and that partner must list
the carve-out. Carve-outs never release Part 2 records. Both paths are justified in writing and
always go to the compliance review queue.
"""

from __future__ import annotations

from typing import Any

from services.consent.domain.terms import (
    BREAK_GLASS_KINDS,
    CARVE_OUTS,
    COUNSELING_NOTES,
    PART2,
    PART2_NOTICE,
    AgreementTerms,
    DecisionRequest,
    Outcome,
    check_values,
)

PERMIT, DENY = "PERMIT", "DENY"
MIN_JUSTIFICATION = 20
EMERGENCY_ROLE = "clinician"
REVIEW = ({"code": "compliance-review"}, {"code": "notify-compliance"})
PART2_DETAILS = {
    "received_by": "name the medical personnel who receive it (42 CFR 2.51)",
    "affiliation": "give their affiliation: the health care facility they work for",
    "nature_of_emergency": "describe the nature of the medical emergency",
}


def _justified(text: str, field: str) -> dict[str, str]:
    if len(text.strip()) >= MIN_JUSTIFICATION:
        return {}
    return {field: f"explain it in at least {MIN_JUSTIFICATION} characters"}


def break_glass_problems(request: DecisionRequest) -> dict[str, str]:
    """Why this break-glass request may not be made (empty when it may)."""
    glass = request.break_glass
    if glass is None:
        return {}
    errors = check_values("break_glass.kind", [glass.kind], BREAK_GLASS_KINDS)
    if glass.kind in ("mandated-reporting", "court-order"):
        errors["break_glass.kind"] = (
            f"{glass.kind} is a carve-out, not an emergency: send carve_out: "
            f'{{"kind": "{glass.kind}", "justification": ...}} instead'
        )
    errors.update(_justified(glass.justification, "break_glass.justification"))
    if request.actor_role != EMERGENCY_ROLE:
        errors["break_glass"] = "only a clinician may break the glass"
    if request.recipient.kind != "provider":
        errors["recipient.kind"] = "break-glass discloses to a provider (kind 'provider') only"
    if request.purpose != "TREAT":
        errors["purpose"] = "break-glass is for treatment (TREAT) only"
    notes = sorted(request.categories & COUNSELING_NOTES)
    if notes:
        errors["categories"] = f"counselling notes never go out by break-glass: drop {notes}"
    if carve_out_given(request):
        errors["carve_out"] = "ask either break_glass or carve_out, not both"
    if PART2 in request.effective_labels:
        if glass.kind != "medical-emergency":
            errors["break_glass.kind"] = "Part 2 records go out only in a medical emergency"
        for name, how in PART2_DETAILS.items():
            if not (getattr(glass, name) or "").strip():
                errors[f"break_glass.{name}"] = how
    return errors


def carve_out_given(request: DecisionRequest) -> bool:
    return request.carve_out is not None


def carve_out_problems(request: DecisionRequest) -> dict[str, str]:
    """Why this carve-out request may not be made (empty when it may)."""
    carve = request.carve_out
    if carve is None:
        return {}
    errors = check_values("carve_out.kind", [carve.kind], CARVE_OUTS)
    errors.update(_justified(carve.justification, "carve_out.justification"))
    if request.actor_role != EMERGENCY_ROLE:
        errors["carve_out"] = "only a clinician may invoke a carve-out"
    if request.recipient.kind == "payer":
        errors["recipient.kind"] = "a carve-out never discloses to a payer"
    return errors


def break_glass(request: DecisionRequest, trace: list[str]) -> Outcome:
    """PERMIT for a break-glass request that may be made, DENY (defensively) otherwise."""
    assert request.break_glass is not None
    kind = request.break_glass.kind
    problems = break_glass_problems(request)
    if problems:
        trace.append(f"break-glass refused: {', '.join(sorted(problems))}")
        return Outcome(DENY, {"rule": "break-glass-not-allowed"}, (), tuple(trace))
    trace.append(f"break-glass {kind}: justification given, provider, treatment")
    obligations = [dict(o) for o in REVIEW] + part2_notice(request)
    return Outcome(PERMIT, {"rule": f"break-glass:{kind}"}, tuple(obligations), tuple(trace))


def carve_out(
    request: DecisionRequest, agreement: AgreementTerms | None, trace: list[str]
) -> Outcome:
    """A carve-out: PERMIT on its own rule, or DENY naming what it lacks."""
    assert request.carve_out is not None
    kind = request.carve_out.kind
    problems = carve_out_problems(request)
    if problems:
        trace.append(f"carve-out refused: {', '.join(sorted(problems))}")
        return Outcome(DENY, {"rule": "carve-out-not-allowed"}, (), tuple(trace))
    if PART2 in request.effective_labels:
        trace.append("carve-outs never release Part 2 records: a Part 2 consent is needed")
        return Outcome(DENY, {"rule": "part2-consent-required"}, (), tuple(trace))
    basis: dict[str, Any] = {"rule": f"carve-out:{kind}"}
    if request.recipient.kind == "partner" and request.session_content:
        if agreement is None:
            trace.append("no agreement in force between the person and this partner")
            return Outcome(DENY, {"rule": "carve-out-needs-agreement"}, (), tuple(trace))
        basis |= {"agreement_id": agreement.agreement_id, "agreement_version": agreement.version}
        if kind not in agreement.carve_outs:
            trace.append(f"agreement {agreement.agreement_id} has no {kind} carve-out")
            return Outcome(DENY, {**basis, "rule": "carve-out-not-in-agreement"}, (), tuple(trace))
        trace.append(f"agreement {agreement.agreement_id} v{agreement.version} carves out {kind}")
    else:
        trace.append(f"carve-out {kind}: outside what the person's consents govern")
    return Outcome(PERMIT, basis, tuple(dict(o) for o in REVIEW), tuple(trace))


def part2_notice(request: DecisionRequest) -> list[dict[str, Any]]:
    if PART2 not in request.effective_labels:
        return []
    return [{"code": "attach-part2-notice", "text": PART2_NOTICE}]
