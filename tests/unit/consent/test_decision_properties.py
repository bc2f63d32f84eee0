"""Properties of the decision point: nothing the caller leaves out, reorders or re-spells widens
an answer; a revoked recipient is never permitted; Part 2 data needs a Part 2 consent."""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.categories import implied_labels
from services.consent.domain.policy import decide
from services.consent.domain.terms import (
    PART2,
    AgreementTerms,
    BreakGlass,
    CarveOut,
    ConsentTerms,
    DecisionRequest,
    Provision,
    Recipient,
    Revocation,
)
from tests.unit.consent.test_policy_properties import (
    LABELS,
    agreements,
    consents,
    part2_consent_names,
    requests,
)

SPELLINGS = (str.upper, str.title, lambda s: f"  {s}\t", lambda s: unicodedata.normalize("NFD", s))
CARVES = st.one_of(
    st.none(),
    st.builds(
        CarveOut,
        kind=st.sampled_from(("imminent-safety-threat", "court-order")),
        justification=st.just("a written reason of more than twenty characters"),
    ),
)
GLASS = BreakGlass(
    "medical-emergency",
    "unresponsive at intake, the ER asks for history",
    "Dr. On Call",
    "County General",
    "suspected overdose",
)
full_requests = st.builds(
    dataclasses.replace,
    requests,
    carve_out=CARVES,
    labels=st.frozensets(st.sampled_from(LABELS)),
)


def respelled(recipient: Recipient, how: int) -> Recipient:
    assert recipient.id is not None
    return dataclasses.replace(recipient, id=SPELLINGS[how % len(SPELLINGS)](recipient.id))


def reordered(consent: ConsentTerms) -> ConsentTerms:
    def flip(provision: Provision) -> Provision:
        return dataclasses.replace(
            provision,
            recipients=provision.recipients[::-1],
            provisions=tuple(flip(p) for p in provision.provisions[::-1]),
        )

    return dataclasses.replace(consent, root=flip(consent.root))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=full_requests,
    consents=st.lists(consents, max_size=4),
    agreement=agreements,
    how=st.integers(0, 3),
    drop=st.frozensets(st.sampled_from(LABELS)),
)
def test_no_omitted_reordered_or_re_spelled_input_turns_a_deny_into_a_permit(
    request: DecisionRequest,
    consents: list[ConsentTerms],
    agreement: AgreementTerms | None,
    how: int,
    drop: frozenset[str],
) -> None:
    before = decide(request, consents, agreement)
    # Omitted: labels the categories imply, and the individual-session flag its category implies.
    omitted = dataclasses.replace(
        request,
        labels=request.labels - (drop & implied_labels(request.categories)),
        individual_session=request.individual_session
        and "individual-session" not in request.categories,
    )
    variants = [
        omitted,
        dataclasses.replace(request, recipient=respelled(request.recipient, how)),
    ]
    for variant in variants:
        after = decide(variant, consents, agreement)
        assert (after.outcome, after.basis) == (before.outcome, before.basis)
    shuffled = decide(request, [reordered(c) for c in consents[::-1]], agreement)
    assert shuffled.outcome == before.outcome
    if before.outcome != "PERMIT":
        assert shuffled.outcome != "PERMIT"


revocations = st.builds(
    Revocation,
    recipient=st.builds(
        Recipient,
        kind=st.sampled_from(("provider", "organization")),
        id=st.sampled_from(("r1", "R1 ", "r2")),
    ),
    revoked_on=st.dates(dt.date(2026, 1, 1), dt.date(2026, 11, 25)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=full_requests,
    consents=st.lists(consents, min_size=1, max_size=4),
    agreement=agreements,
    revocation=revocations,
    target=st.integers(0, 3),
    glass=st.booleans(),
)
def test_a_revoked_recipient_is_never_permitted(
    request: DecisionRequest,
    consents: list[ConsentTerms],
    agreement: AgreementTerms | None,
    revocation: Revocation,
    target: int,
    glass: bool,
) -> None:
    request = dataclasses.replace(
        request,
        recipient=revocation.recipient,
        break_glass=GLASS if glass else None,
        actor_role="clinician",
    )
    index = target % len(consents)
    revoking = dataclasses.replace(
        consents[index], person_id=request.person_id, revocations=(revocation,)
    )
    # Every other consent was signed before the revocation (none renews the recipient).
    others = [dataclasses.replace(c, signed_on=revocation.revoked_on) for c in consents]
    others[index] = revoking
    outcome = decide(request, others, agreement)
    assert outcome.outcome != "PERMIT"
    assert outcome.basis["rule"] == "recipient-revoked"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=full_requests,
    consents=st.lists(consents, max_size=5),
    agreement=agreements,
    category=st.sampled_from(("substance-use", "sud-counseling-notes")),
    glass=st.booleans(),
)
def test_a_part2_category_never_goes_out_without_a_part2_consent_naming_the_recipient(
    request: DecisionRequest,
    consents: list[ConsentTerms],
    agreement: AgreementTerms | None,
    category: str,
    glass: bool,
) -> None:
    request = dataclasses.replace(
        request,
        categories=request.categories | {category},
        labels=request.labels - {PART2},
        break_glass=GLASS if glass else None,
        recipient=Recipient("provider", "r1") if glass else request.recipient,
    )
    outcome = decide(request, consents, agreement)
    if outcome.outcome != "PERMIT":
        return
    assert any(o["code"] == "attach-part2-notice" for o in outcome.obligations)
    if glass and category == "substance-use":
        assert outcome.basis == {"rule": "break-glass:medical-emergency"}
        return
    assert part2_consent_names(request, consents)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=full_requests,
    consents=st.lists(consents, min_size=1, max_size=4),
    agreement=agreements,
    renewal=consents,
    revoked_on=st.dates(dt.date(2025, 6, 1), dt.date(2026, 6, 1)),
    target=st.integers(0, 3),
)
def test_adding_a_revocation_and_a_renewal_never_turns_a_deny_into_a_permit(
    request: DecisionRequest,
    consents: list[ConsentTerms],
    agreement: AgreementTerms | None,
    renewal: ConsentTerms,
    revoked_on: dt.date,
    target: int,
) -> None:
    # The renewal: signed after the revocation, its root permit naming the recipient by id and
    # covering the request (so only the other consents' denies can stand in its way).
    root = Provision(
        "permit",
        (request.recipient,),
        frozenset({request.purpose}),
        request.categories,
        request.effective_labels,
        renewal.root.provisions,
    )
    renewal = dataclasses.replace(
        renewal,
        person_id=request.person_id,
        status="active",
        part2=True,
        start=None,
        end=None,
        signed_on=revoked_on + dt.timedelta(days=30),
        root=root,
    )
    index = target % len(consents)
    revoking = dataclasses.replace(consents[index], person_id=request.person_id)
    before = decide(
        request, [*consents[:index], revoking, *consents[index + 1 :], renewal], agreement
    )
    revoking = dataclasses.replace(
        revoking, revocations=(Revocation(request.recipient, revoked_on),)
    )
    after = decide(
        request, [*consents[:index], revoking, *consents[index + 1 :], renewal], agreement
    )
    if before.outcome != "PERMIT":
        assert after.outcome != "PERMIT", (before.basis, after.basis, after.trace)
