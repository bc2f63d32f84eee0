"""The decision engine: pure functions from a request and the person's consents to an outcome.

Order of the rules (each step can only end the evaluation, never undo an earlier one):

1. Break-glass (emergency, imminent threat, mandated report, court order) permits with the
   obligations "compliance-review" and "notify-compliance" (plus the Part 2 notice).
2. Only consents of the person that are active and inside their period apply.
3. Deny overrides permit: any applicable deny provision (root or nested) denies.
4. Part 2 labelled data needs a Part 2 consent that names the recipient and covers the request.
5. A partner asking for individual-session content follows the agreement in force (strict when
   none): `no-secrets` permits for TREAT; otherwise only the person's written consent permits.
6. A consent whose root permit names the recipient, the purpose and every category permits;
   labels it does not cover are redacted (obligation "redact"). No such consent: NO_CONSENT.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from services.consent.domain.terms import (
    PART2,
    PART2_NOTICE,
    AgreementTerms,
    ConsentTerms,
    DecisionRequest,
    Outcome,
    Provision,
)

PERMIT, DENY, NO_CONSENT = "PERMIT", "DENY", "NO_CONSENT"


def applies(provision: Provision, request: DecisionRequest) -> bool:
    """True when every non-empty criterion of the provision matches the request."""
    if provision.recipients and not any(r.names(request.recipient) for r in provision.recipients):
        return False
    if provision.purposes and request.purpose not in provision.purposes:
        return False
    if provision.categories and not provision.categories & request.categories:
        return False
    return not (provision.labels and not provision.labels & request.labels)


def matching_denies(provision: Provision, request: DecisionRequest) -> Iterator[Provision]:
    """Deny provisions of the tree that apply, with every ancestor applying too."""
    if not applies(provision, request):
        return
    if provision.type == "deny":
        yield provision
    for child in provision.provisions:
        yield from matching_denies(child, request)


def uncovered_labels(consent: ConsentTerms, request: DecisionRequest) -> frozenset[str] | None:
    """Labels the consent's root permit leaves out, or None when it does not cover the request."""
    root = consent.root
    if root.type != "permit":
        return None
    if not any(r.names(request.recipient) for r in root.recipients):
        return None
    if request.purpose not in root.purposes:
        return None
    if not request.categories <= root.categories:
        return None
    covered = root.labels | ({PART2} if consent.part2 else frozenset())
    return request.labels - covered


def decide(
    request: DecisionRequest,
    consents: Sequence[ConsentTerms],
    agreement: AgreementTerms | None = None,
) -> Outcome:
    """The outcome of one request against the person's consents and the couple's agreement."""
    trace: list[str] = []
    if request.break_glass is not None:
        trace.append(f"break-glass {request.break_glass.kind}: justification given")
        obligations = [_obligation("compliance-review"), _obligation("notify-compliance")]
        return Outcome(
            PERMIT,
            {"rule": f"break-glass:{request.break_glass.kind}"},
            tuple(obligations + _part2_notice(request)),
            tuple(trace),
        )

    today = request.at.date()
    applicable = []
    for consent in consents:
        why_not = (
            "another person" if consent.person_id != request.person_id else consent.in_force(today)
        )
        if why_not is None:
            applicable.append(consent)
        else:
            trace.append(f"consent {consent.consent_id} v{consent.version} skipped: {why_not}")

    for consent in applicable:
        if any(True for _ in matching_denies(consent.root, request)):
            trace.append(f"consent {consent.consent_id} v{consent.version}: deny provision applies")
            return Outcome(DENY, _consent_basis(consent), (), tuple(trace))

    covering = _covering(applicable, request)
    if PART2 in request.labels:
        part2 = [(c, left) for c, left in covering if c.part2]
        if not part2:
            trace.append(f"no Part 2 consent names {_who(request)} for {request.purpose}")
            return Outcome(DENY, {"rule": "part2-consent-required"}, (), tuple(trace))
        covering = part2

    if request.recipient.kind == "partner" and request.individual_session:
        return _partner_rule(request, covering, agreement, trace)

    return _permit_or_no_consent(request, covering, trace)


def _partner_rule(
    request: DecisionRequest,
    covering: list[tuple[ConsentTerms, frozenset[str]]],
    agreement: AgreementTerms | None,
    trace: list[str],
) -> Outcome:
    mode = agreement.mode if agreement is not None else "strict"
    where = (
        f"agreement {agreement.agreement_id} v{agreement.version} ({mode})"
        if agreement is not None
        else "no agreement in force: strict by default"
    )
    trace.append(f"partner request for individual-session content: {where}")
    basis: dict[str, Any] = {"rule": f"agreement-{mode}"}
    if agreement is not None:
        basis |= {"agreement_id": agreement.agreement_id, "agreement_version": agreement.version}
    if mode == "no-secrets" and request.purpose == "TREAT":
        trace.append("no-secrets permits use in joint work (TREAT)")
        return Outcome(PERMIT, basis, tuple(_part2_notice(request)), tuple(trace))
    if covering:
        trace.append("the person's written consent permits it")
        return _permit_or_no_consent(request, covering, trace)
    trace.append("no written consent of the person names the partner")
    return Outcome(DENY, basis, (), tuple(trace))


def _permit_or_no_consent(
    request: DecisionRequest,
    covering: list[tuple[ConsentTerms, frozenset[str]]],
    trace: list[str],
) -> Outcome:
    if not covering:
        trace.append(f"no active consent names {_who(request)} for {request.purpose}")
        return Outcome(NO_CONSENT, {"rule": "no-consent"}, (), tuple(trace))
    # Prefer the consent that needs the fewest redactions, then the newest version.
    consent, left_out = min(covering, key=lambda item: (len(item[1]), -item[0].version))
    trace.append(f"consent {consent.consent_id} v{consent.version} permits")
    obligations = list(_part2_notice(request))
    if left_out:
        trace.append(f"labels not covered are redacted: {', '.join(sorted(left_out))}")
        obligations.append(_obligation("redact", labels=sorted(left_out)))
    return Outcome(PERMIT, _consent_basis(consent), tuple(obligations), tuple(trace))


def _covering(
    consents: Iterable[ConsentTerms], request: DecisionRequest
) -> list[tuple[ConsentTerms, frozenset[str]]]:
    found = []
    for consent in consents:
        left_out = uncovered_labels(consent, request)
        if left_out is not None and PART2 not in left_out:
            found.append((consent, left_out))
    return found


def _part2_notice(request: DecisionRequest) -> list[dict[str, Any]]:
    if PART2 not in request.labels:
        return []
    return [_obligation("attach-part2-notice", text=PART2_NOTICE)]


def _obligation(code: str, **details: Any) -> dict[str, Any]:
    return {"code": code, **details}


def _consent_basis(consent: ConsentTerms) -> dict[str, Any]:
    return {"consent_id": consent.consent_id, "consent_version": consent.version}


def _who(request: DecisionRequest) -> str:
    return f"{request.recipient.kind} {request.recipient.id or '(general designation)'}"
