"""The consent service's commands: what a caller asks, as typed values (imperative names).

The HTTP layer builds one from a validated body; the application checks it with the domain's
rules and records the event it leads to. A directive's or a disclosure's terms stay a mapping
here: `validation.py` checks every element of them, with the field's path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.consent.domain.terms import DecisionRequest


@dataclass(frozen=True, kw_only=True)
class DraftAgreement:
    """Terms between two partners (in force once both sign)."""

    partner_ids: Sequence[str]
    mode: str
    carve_outs: Sequence[str] | None = None  # None: all three


@dataclass(frozen=True, kw_only=True)
class SignAgreement:
    partner_id: str
    signed_on: dt.date | None = None  # None: today


@dataclass(frozen=True, kw_only=True)
class ReviseAgreement:
    mode: str
    carve_outs: Sequence[str] | None = None


@dataclass(frozen=True, kw_only=True)
class RecordConsent:
    """A consent directive; a Part 2 one needs every 42 CFR 2.31 element."""

    terms: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class ChangeConsent:
    """One change of a directive's status, effective `on` (default: today)."""

    on: dt.date | None = None


@dataclass(frozen=True, kw_only=True)
class ActivateConsent(ChangeConsent):
    pass


@dataclass(frozen=True, kw_only=True)
class RejectConsent(ChangeConsent):
    pass


@dataclass(frozen=True, kw_only=True)
class RevokeConsent(ChangeConsent):
    """Revoke the whole directive, or only `recipient_id` of a multi-party one."""

    in_writing: bool = False
    recipient_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class MarkConsentEnteredInError(ChangeConsent):
    pass


@dataclass(frozen=True, kw_only=True)
class ExpireConsent(ChangeConsent):
    expiry_event: str | None = None


@dataclass(frozen=True, kw_only=True)
class Decide:
    """May the actor disclose what the request names now? (always recorded)"""

    request: DecisionRequest
    about_partner_of: str | None = None


@dataclass(frozen=True, kw_only=True)
class CloseReview:
    """Compliance's finding on a break-glass or carve-out decision."""

    finding: str
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordDisclosure:
    """A disclosure made now, by the caller, on their PERMIT decision."""

    terms: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class RecordLateDisclosure:
    """A disclosure made earlier (outside the system, or imported) on the basis it had then."""

    terms: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class ProduceAccounting:
    """An accounting of a person's disclosures (HIPAA 164.528, 42 CFR 2.24), recorded as produced.

    Without `start` and `end`, each regime's own period up to now.
    """

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    format: str = "json"  # json, csv or fhir: what the caller asked for, recorded with it
