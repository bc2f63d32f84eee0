"""The decision engine: pure functions from a request and the person's consents to an outcome.

The request's labels are what was declared plus what its categories imply (`effective_labels`),
so leaving a label out never widens an answer. Order of the rules (each step can only end the
evaluation, never undo an earlier one):

1. A recipient the person revoked from any consent is denied, whatever general designation or
   other consent remains, until a consent signed after the revocation names them by id; then
   only such renewing consents can permit (step 8), while the denies of every applicable
   consent still apply (step 5).
2. Break-glass (a clinician, treatment, a provider; see `exceptions`) permits, for review.
3. Only consents of the person that are active and inside their period apply.
4. A carve-out (safety threat, mandated report, court order) permits on its own rule, for
   review; for a partner and individual-session content only as the agreement lists it.
5. Deny overrides permit: any applicable deny provision (root or nested) denies.
6. Part 2 labelled data needs a Part 2 consent that names the recipient and covers the request.
7. A partner receiving individual-session content follows the agreement in force between the
   person and that partner (strict when none): `no-secrets` permits for TREAT unless the
   content is labelled SDV or R; otherwise only the person's written consent permits.
8. A consent whose root permit names the recipient (a partner or family member only by id),
   the purpose and every category permits; labels it does not cover are redacted (obligation
   "redact"). No such consent: NO_CONSENT.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from services.common.ids import canonical_id
from services.consent.domain.exceptions import break_glass, carve_out, part2_notice
from services.consent.domain.terms import (
    NAMED_ONLY_KINDS,
    PART2,
    AgreementTerms,
    ConsentTerms,
    DecisionRequest,
    Outcome,
    Provision,
    Recipient,
    Revocation,
)

PERMIT, DENY, NO_CONSENT = "PERMIT", "DENY", "NO_CONSENT"
# What a partner never learns under the couple's agreement alone: abuse or violence (SDV) and
# restricted content (R: a screen's finding, a format shift's reason).
NEVER_SHARED_BY_AGREEMENT = frozenset({"SDV", "R"})
Covering = list[tuple[ConsentTerms, frozenset[str]]]


def applies(provision: Provision, request: DecisionRequest) -> bool:
    """True when every non-empty criterion of the provision matches the request."""
    if provision.recipients and not any(r.names(request.recipient) for r in provision.recipients):
        return False
    if provision.purposes and request.purpose not in provision.purposes:
        return False
    if provision.categories and not provision.categories & request.categories:
        return False
    return not (provision.labels and not provision.labels & request.effective_labels)


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
    if not any(_permits_to(r, request.recipient) for r in root.recipients):
        return None
    if request.purpose not in root.purposes:
        return None
    if not request.categories <= root.categories:
        return None
    return request.effective_labels - consent.covered_labels()


def _permits_to(entry: Recipient, recipient: Recipient) -> bool:
    """A permit's entry names the recipient: a partner or family member only by id."""
    if entry.kind in NAMED_ONLY_KINDS:
        return entry.names_by_id(recipient)
    return entry.names(recipient)


def latest_revocation(
    person_id: str, recipient: Recipient, consents: Iterable[ConsentTerms]
) -> tuple[ConsentTerms, Revocation] | None:
    """The person's latest revocation of this recipient, in any consent not entered in error."""
    found: tuple[ConsentTerms, Revocation] | None = None
    for consent in consents:
        if consent.person_id != person_id or consent.status == "entered-in-error":
            continue
        for revocation in consent.revocations:
            if revocation.recipient.names_by_id(recipient) and (
                found is None or revocation.revoked_on > found[1].revoked_on
            ):
                found = (consent, revocation)
    return found


def decide(
    request: DecisionRequest,
    consents: Sequence[ConsentTerms],
    agreement: AgreementTerms | None = None,
) -> Outcome:
    """The outcome of one request against the person's consents and the couple's agreement."""
    if request.recipient.id is not None and request.recipient.key[1] != request.recipient.id:
        request = dataclasses.replace(request, recipient=request.recipient.canonical())
    trace: list[str] = []
    if request.effective_labels != request.labels:
        added = ", ".join(sorted(request.effective_labels - request.labels))
        trace.append(f"labels implied by the categories: {added}")
    agreement = _between(agreement, request, trace)
    today = request.at.date()
    revoked = latest_revocation(request.person_id, request.recipient, consents)
    applicable = []
    for consent in consents:
        why_not = (
            "another person" if consent.person_id != request.person_id else consent.in_force(today)
        )
        if why_not is None:
            applicable.append(consent)
        else:
            trace.append(f"consent {consent.consent_id} v{consent.version} skipped: {why_not}")
    permitting = applicable  # consents whose permits may cover the request
    if revoked is not None:
        revoking, revocation = revoked
        permitting = _renewed_after(applicable, request, revocation)
        if not permitting:
            trace.append(
                f"{_who(request)} was revoked from consent {revoking.consent_id} on "
                f"{revocation.revoked_on.isoformat()}; no consent signed since names them"
            )
            basis = {"rule": "recipient-revoked", **_consent_basis(revoking)}
            return Outcome(DENY, basis, (), tuple(trace))
        trace.append(f"{_who(request)} named again by a consent signed after the revocation")
    if request.break_glass is not None:
        return break_glass(request, trace)
    if request.carve_out is not None:
        return carve_out(request, agreement, trace)

    for consent in applicable:
        if any(True for _ in matching_denies(consent.root, request)):
            trace.append(f"consent {consent.consent_id} v{consent.version}: deny provision applies")
            return Outcome(DENY, _consent_basis(consent), (), tuple(trace))

    covering = _covering(permitting, request)
    if PART2 in request.effective_labels:
        part2 = [(c, left) for c, left in covering if c.part2]
        if not part2:
            trace.append(f"no Part 2 consent names {_who(request)} for {request.purpose}")
            return Outcome(DENY, {"rule": "part2-consent-required"}, (), tuple(trace))
        covering = part2

    if request.recipient.kind == "partner" and request.session_content:
        return _partner_rule(request, covering, agreement, trace)

    return _permit_or_no_consent(request, covering, trace)


def _between(
    agreement: AgreementTerms | None, request: DecisionRequest, trace: list[str]
) -> AgreementTerms | None:
    """The agreement only when it is between the person and this partner recipient."""
    if agreement is None or request.recipient.kind != "partner" or request.recipient.id is None:
        return None
    parties = {canonical_id(p) for p in agreement.partner_ids}
    if parties == {canonical_id(request.person_id), request.recipient.id}:
        return agreement
    trace.append(f"agreement {agreement.agreement_id} is not between the person and this partner")
    return None


def _renewed_after(
    consents: list[ConsentTerms], request: DecisionRequest, revocation: Revocation
) -> list[ConsentTerms]:
    return [
        c
        for c in consents
        if c.signed_on is not None
        and c.signed_on > revocation.revoked_on
        and any(r.names_by_id(request.recipient) for r in c.root.recipients)
    ]


def _partner_rule(
    request: DecisionRequest,
    covering: Covering,
    agreement: AgreementTerms | None,
    trace: list[str],
) -> Outcome:
    mode = agreement.mode if agreement is not None else "strict"
    where = (
        f"agreement {agreement.agreement_id} v{agreement.version} ({mode})"
        if agreement is not None
        else "no agreement in force with this partner: strict by default"
    )
    trace.append(f"partner request for individual-session content: {where}")
    basis: dict[str, Any] = {"rule": f"agreement-{mode}"}
    if agreement is not None:
        basis |= {"agreement_id": agreement.agreement_id, "agreement_version": agreement.version}
    withheld = request.effective_labels & NEVER_SHARED_BY_AGREEMENT
    if mode == "no-secrets" and request.purpose == "TREAT" and not withheld:
        trace.append("no-secrets permits use in joint work (TREAT)")
        return Outcome(PERMIT, basis, tuple(part2_notice(request)), tuple(trace))
    if mode == "no-secrets" and withheld:
        trace.append(
            f"no-secrets does not cover content labelled {', '.join(sorted(withheld))}: only "
            f"the person's written consent naming the partner does"
        )
    if covering:
        trace.append("the person's written consent permits it")
        return _permit_or_no_consent(request, covering, trace)
    trace.append("no written consent of the person names the partner")
    return Outcome(DENY, basis, (), tuple(trace))


def _permit_or_no_consent(
    request: DecisionRequest, covering: Covering, trace: list[str]
) -> Outcome:
    if not covering:
        trace.append(f"no active consent names {_who(request)} for {request.purpose}")
        return Outcome(NO_CONSENT, {"rule": "no-consent"}, (), tuple(trace))
    # Prefer the consent that needs the fewest redactions, then the newest version.
    consent, left_out = min(covering, key=lambda item: (len(item[1]), -item[0].version))
    trace.append(f"consent {consent.consent_id} v{consent.version} permits")
    obligations = list(part2_notice(request))
    if left_out:
        trace.append(f"labels not covered are redacted: {', '.join(sorted(left_out))}")
        obligations.append({"code": "redact", "labels": sorted(left_out)})
    return Outcome(PERMIT, _consent_basis(consent), tuple(obligations), tuple(trace))


def _covering(consents: Iterable[ConsentTerms], request: DecisionRequest) -> Covering:
    found = []
    for consent in consents:
        left_out = uncovered_labels(consent, request)
        if left_out is not None and PART2 not in left_out:
            found.append((consent, left_out))
    return found


def _consent_basis(consent: ConsentTerms) -> dict[str, Any]:
    return {"consent_id": consent.consent_id, "consent_version": consent.version}


def _who(request: DecisionRequest) -> str:
    return f"{request.recipient.kind} {request.recipient.id or '(general designation)'}"
