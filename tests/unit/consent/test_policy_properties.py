"""Properties of the decision engine over generated consents, agreements and requests."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from services.consent.domain.policy import decide
from services.consent.domain.terms import (
    PART2,
    AgreementTerms,
    BreakGlass,
    ConsentTerms,
    DecisionRequest,
    Provision,
    Recipient,
)

TODAY = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
KINDS = ("partner", "family-member", "provider", "organization")
IDS = ("r1", "r2", "r3")
PURPOSES = ("TREAT", "COC", "HPAYMT", "FAMRQT")
CATEGORIES = ("individual-session", "assessment", "substance-use", "diagnosis")
LABELS = (PART2, "ETH", "PSY", "SDV")

recipients = st.builds(Recipient, kind=st.sampled_from(KINDS), id=st.sampled_from((*IDS, None)))
named_recipients = st.builds(Recipient, kind=st.sampled_from(KINDS), id=st.sampled_from(IDS))


def subsets(values: tuple[str, ...], min_size: int = 0) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(values), min_size=min_size)


def provisions(depth: int = 2) -> st.SearchStrategy[Provision]:
    children = st.lists(provisions(depth - 1), max_size=2) if depth > 0 else st.just([])
    return st.builds(
        Provision,
        type=st.sampled_from(("permit", "deny")),
        recipients=st.lists(recipients, max_size=2).map(tuple),
        purposes=subsets(PURPOSES),
        categories=subsets(CATEGORIES),
        labels=subsets(LABELS),
        provisions=children.map(tuple),
    )


roots = st.builds(
    Provision,
    type=st.sampled_from(("permit", "permit", "deny")),
    recipients=st.lists(recipients, min_size=1, max_size=3).map(tuple),
    purposes=subsets(PURPOSES, 1),
    categories=subsets(CATEGORIES, 1),
    labels=subsets(LABELS),
    provisions=st.lists(provisions(), max_size=2).map(tuple),
)
dates = st.one_of(st.none(), st.dates(dt.date(2025, 1, 1), dt.date(2028, 1, 1)))
consents = st.builds(
    ConsentTerms,
    consent_id=st.uuids().map(str),
    version=st.integers(1, 9),
    person_id=st.sampled_from(("person-a", "person-a", "person-b")),
    status=st.sampled_from(("active", "active", "inactive", "draft", "rejected")),
    part2=st.booleans(),
    root=roots,
    start=dates,
    end=dates,
)
agreements = st.one_of(
    st.none(),
    st.builds(
        AgreementTerms,
        agreement_id=st.just("agr"),
        version=st.integers(1, 5),
        mode=st.sampled_from(("no-secrets", "limited-secrets", "strict")),
        partner_ids=st.just(frozenset({"person-a", "r1"})),
    ),
)
requests = st.builds(
    DecisionRequest,
    person_id=st.just("person-a"),
    actor_id=st.just("clin-1"),
    recipient=named_recipients,
    purpose=st.sampled_from(PURPOSES),
    categories=subsets(CATEGORIES, 1),
    labels=subsets(LABELS),
    at=st.just(TODAY),
    individual_session=st.booleans(),
)
deny_provisions = provisions(1).map(lambda p: dataclasses.replace(p, type="deny"))


def part2_consent_names(request: DecisionRequest, consents: list[ConsentTerms]) -> bool:
    """Whether a Part 2 consent of the person, in force today, names the recipient."""
    return any(
        c.part2
        and c.person_id == request.person_id
        and c.in_force(TODAY.date()) is None
        and any(r.names(request.recipient) for r in c.root.recipients)
        for c in consents
    )


def with_deny(consent: ConsentTerms, deny: Provision, path: list[int]) -> ConsentTerms:
    """The consent with `deny` added somewhere in its provision tree (or as a sibling)."""
    node = consent.root
    chain = [node]
    for index in path:
        if not node.provisions:
            break
        node = node.provisions[index % len(node.provisions)]
        chain.append(node)
    updated = dataclasses.replace(chain[-1], provisions=(*chain[-1].provisions, deny))
    for depth in range(len(chain) - 2, -1, -1):
        parent, replaced = chain[depth], chain[depth + 1]
        children = tuple(updated if child is replaced else child for child in parent.provisions)
        updated = dataclasses.replace(parent, provisions=children)
    return dataclasses.replace(consent, root=updated)


@settings(max_examples=300)
@given(
    request=requests,
    consents=st.lists(consents, max_size=4),
    agreement=agreements,
    deny=deny_provisions,
    target=st.integers(0, 3),
    path=st.lists(st.integers(0, 3), max_size=3),
)
def test_adding_a_deny_provision_never_turns_a_deny_into_a_permit(
    request: DecisionRequest,
    consents: list[ConsentTerms],
    agreement: AgreementTerms | None,
    deny: Provision,
    target: int,
    path: list[int],
) -> None:
    before = decide(request, consents, agreement)
    if consents:
        index = target % len(consents)
        consents = [*consents]
        consents[index] = with_deny(consents[index], deny, path)
    after = decide(request, consents, agreement)
    if before.outcome == "DENY":
        assert after.outcome == "DENY"
    if before.outcome != "PERMIT":
        assert after.outcome != "PERMIT"


@settings(max_examples=300)
@given(request=requests, consents=st.lists(consents, max_size=5), agreement=agreements)
def test_no_revoked_or_expired_consent_ever_permits(
    request: DecisionRequest, consents: list[ConsentTerms], agreement: AgreementTerms | None
) -> None:
    outcome = decide(request, consents, agreement)
    in_force = [c for c in consents if c.in_force(TODAY.date()) is None]
    if outcome.outcome == "PERMIT" and "consent_id" in outcome.basis:
        basis = next(c for c in consents if c.consent_id == outcome.basis["consent_id"])
        assert basis.in_force(TODAY.date()) is None
    without = decide(request, in_force, agreement)
    assert (without.outcome, without.basis) == (outcome.outcome, outcome.basis)


@settings(max_examples=300)
@given(
    request=requests,
    consents=st.lists(consents, max_size=5),
    agreement=agreements,
    glass=st.booleans(),
)
def test_part2_data_never_goes_to_a_recipient_no_part2_consent_names_except_by_break_glass(
    request: DecisionRequest,
    consents: list[ConsentTerms],
    agreement: AgreementTerms | None,
    glass: bool,
) -> None:
    request = dataclasses.replace(request, labels=request.labels | {PART2})
    if glass:
        justification = "imminent risk to life reported by the emergency department"
        request = dataclasses.replace(
            request, break_glass=BreakGlass("imminent-threat", justification)
        )
    outcome = decide(request, consents, agreement)
    if outcome.outcome != "PERMIT":
        return
    if glass:
        assert any(o["code"] == "compliance-review" for o in outcome.obligations)
        return
    assert part2_consent_names(request, consents)
    assert any(o["code"] == "attach-part2-notice" for o in outcome.obligations)


@settings(max_examples=200)
@given(request=requests, consents=st.lists(consents, max_size=4), agreement=agreements)
def test_every_outcome_has_a_basis_and_a_trace(
    request: DecisionRequest, consents: list[ConsentTerms], agreement: AgreementTerms | None
) -> None:
    outcome = decide(request, consents, agreement)
    assert outcome.outcome in {"PERMIT", "DENY", "NO_CONSENT"}
    assert "consent_id" in outcome.basis or "rule" in outcome.basis
    assert outcome.trace
