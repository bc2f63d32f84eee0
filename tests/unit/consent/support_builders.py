"""Builders shared by the consent unit tests: consent terms, decision requests, contexts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from services.common.context import CommandContext
from services.consent.application import ConsentApplication
from services.consent.domain import ConsentDirective
from services.consent.domain.commands import ActivateConsent, RecordConsent
from services.consent.domain.terms import (
    BreakGlass,
    ConsentTerms,
    DecisionRequest,
    Recipient,
)

TENANT = "practice-1"
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
DETOX = {"kind": "organization", "id": "org-detox", "name": "Harbor Detox"}
SISTER = {"kind": "family-member", "id": "person-sister", "name": "Sam"}
ER = {"kind": "provider", "id": "dr-er-7", "name": "ER physician on call"}


def context(role: str = "clinician", actor: str = "clin-1", tenant: str = TENANT) -> CommandContext:
    return CommandContext(actor_id=actor, actor_role=role, tenant=tenant)


def consent_terms(**overrides: Any) -> dict[str, Any]:
    """A complete treatment consent to the detox program for person-a."""
    terms: dict[str, Any] = {
        "person_id": "person-a",
        "status": "draft",
        "scope": "patient-privacy",
        "part2": False,
        "disclosers": ["practice-1"],
        "description": "assessment and treatment plan",
        "recipients": [DETOX],
        "purposes": ["TREAT"],
        "categories": ["assessment", "treatment-plan"],
        "labels": [],
        "provision_type": "permit",
        "provisions": [],
        "start": dt.date(2026, 1, 1),
        "end": dt.date(2027, 1, 1),
        "expiry_event": None,
        "revocation_right_acknowledged": True,
        "signature": {"signed_by": "person-a", "signed_on": "2026-01-01"},
    }
    terms.update(overrides)
    return terms


def part2_terms(**overrides: Any) -> dict[str, Any]:
    """A complete 42 CFR Part 2 consent to the detox program for person-a."""
    fields: dict[str, Any] = {
        "part2": True,
        "description": "substance use assessment and withdrawal history",
        "categories": ["substance-use", "assessment"],
        "labels": ["42CFRPart2", "ETH"],
    }
    return consent_terms(**{**fields, **overrides})


def active_consent(app: ConsentApplication, ctx: CommandContext, **terms: Any) -> dict[str, Any]:
    created = app.create_consent(ctx=ctx, command=RecordConsent(terms=consent_terms(**terms)))
    return app.change_consent(ctx=ctx, consent_id=created["consent_id"], command=ActivateConsent())


def request(**overrides: Any) -> DecisionRequest:
    fields: dict[str, Any] = {
        "person_id": "person-a",
        "actor_id": "clin-1",
        "recipient": Recipient(**DETOX),
        "purpose": "TREAT",
        "categories": frozenset({"assessment"}),
        "labels": frozenset(),
        "at": NOW,
    }
    fields.update(overrides)
    return DecisionRequest(**fields)


def emergency(kind: str = "medical-emergency") -> BreakGlass:
    """A medical emergency with every 42 CFR 2.51 detail (ask it of the provider `ER`)."""
    return BreakGlass(
        kind=kind,
        justification="patient unresponsive at detox intake, ER asks",
        received_by="Dr. On Call",
        affiliation="County General emergency department",
        nature_of_emergency="suspected overdose, unresponsive",
    )


def emergency_request(**overrides: Any) -> DecisionRequest:
    """A break-glass request that may be made: a clinician, TREAT, to the provider ER."""
    fields: dict[str, Any] = {"recipient": Recipient(**ER), "break_glass": emergency()}
    return request(**{**fields, **overrides})


def terms_of(status: str = "active", version: int = 2, **overrides: Any) -> ConsentTerms:
    """The engine's view of a consent built from `consent_terms(**overrides)`."""
    consent = ConsentDirective.create(tenant=TENANT, terms=consent_terms(**overrides))
    return dataclasses.replace(consent.terms(), status=status, version=version)
