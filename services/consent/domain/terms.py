"""Value sets and value objects of consent and disclosure: pure, immutable, JSON-friendly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

# The data categories and what they imply are one vocabulary of every service (contracts/).
from contracts.categories import CATEGORIES, implied_labels
from contracts.categories import PART2 as PART2
from services.common.errors import RuleBroken
from services.common.ids import canonical_id

PURPOSES = ("TREAT", "COC", "HPAYMT", "HOPERAT", "FAMRQT", "PATRQT")
TPO_PURPOSES = frozenset({"TREAT", "HPAYMT", "HOPERAT"})
RECIPIENT_KINDS = ("partner", "family-member", "provider", "organization", "ehr", "payer")
# A person close to the client is permitted only by name: a general designation ("my partner")
# would cover anyone who comes to hold that place, a new partner included. It may still deny.
NAMED_ONLY_KINDS = ("partner", "family-member")
NAMED_ONLY_RULE = (
    "a partner or family member is permitted only by id: name them ({'kind': ..., 'id': ...}); "
    "a general designation (id null) is for provider, organization, ehr or payer, or in a deny"
)
LABELS = (PART2, "ETH", "PSY", "PSYTHPN", "SDV", "HIV", "R")
SUD_COUNSELING_NOTES = "sud-counseling-notes"
COUNSELING_NOTES = frozenset({SUD_COUNSELING_NOTES, "psychotherapy-notes"})
SCOPES = ("patient-privacy", "treatment")
PROVISION_TYPES = ("permit", "deny")
# Break-glass is an emergency path for treatment by a provider; the other exceptions of the old
# break-glass list are the agreement's carve-outs, each an explicit path of its own.
BREAK_GLASS_KINDS = ("medical-emergency", "imminent-threat")
CARVE_OUTS = ("imminent-safety-threat", "mandated-reporting", "court-order")
PART2_NOTICE = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."


def check_values(field_name: str, values: Iterable[str], allowed: Iterable[str]) -> dict[str, str]:
    """An error entry naming the unknown values of a coded field and the allowed ones."""
    allowed_set = tuple(allowed)
    unknown = sorted({v for v in values if v not in allowed_set})
    if not unknown:
        return {}
    return {field_name: f"unknown {', '.join(unknown)}; use one of {', '.join(allowed_set)}"}


@dataclass(frozen=True)
class Recipient:
    """Who receives information: a named party (`id`) or a general designation (`id` None).

    Ids compare in their canonical form (case, whitespace and Unicode form do not matter).
    """

    kind: str
    id: str | None = None
    name: str | None = None
    designation: str | None = None
    address: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipient:
        return cls(
            kind=str(data["kind"]),
            id=data.get("id"),
            name=data.get("name"),
            designation=data.get("designation"),
            address=data.get("address"),
        )

    def canonical(self) -> Recipient:
        """The same recipient with its id in canonical form."""
        ident = canonical_id(self.id) if self.id is not None else None
        return Recipient(self.kind, ident, self.name, self.designation, self.address)

    @property
    def key(self) -> tuple[str, str | None]:
        return self.kind, canonical_id(self.id) if self.id is not None else None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "id": self.id}
        for name in ("name", "designation", "address"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    def names(self, other: Recipient) -> bool:
        """Whether this entry designates `other`: same id, or a general designation of its kind."""
        if self.kind != other.kind:
            return False
        return self.id is None or self.key == other.key

    def names_by_id(self, other: Recipient) -> bool:
        return self.id is not None and self.key == other.key


@dataclass(frozen=True)
class Provision:
    """A permit or deny rule; an empty criterion matches everything; children nest (FHIR)."""

    type: str
    recipients: tuple[Recipient, ...] = ()
    purposes: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    labels: frozenset[str] = frozenset()
    provisions: tuple[Provision, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provision:
        return cls(
            type=str(data["type"]),
            recipients=tuple(Recipient.from_dict(r) for r in data.get("recipients") or ()),
            purposes=frozenset(data.get("purposes") or ()),
            categories=frozenset(data.get("categories") or ()),
            labels=frozenset(data.get("labels") or ()),
            provisions=tuple(cls.from_dict(p) for p in data.get("provisions") or ()),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "recipients": [r.as_dict() for r in self.recipients],
            "purposes": sorted(self.purposes),
            "categories": sorted(self.categories),
            "labels": sorted(self.labels),
            "provisions": [p.as_dict() for p in self.provisions],
        }


def named_only_errors(recipients: Iterable[Mapping[str, Any]], where: str) -> dict[str, str]:
    """A permit's partner or family member given by general designation (`where[i].id`)."""
    return {
        f"{where}[{index}].id": NAMED_ONLY_RULE
        for index, recipient in enumerate(recipients)
        if recipient.get("kind") in NAMED_ONLY_KINDS and recipient.get("id") is None
    }


def provision_errors(provisions: Iterable[Mapping[str, Any]], where: str) -> dict[str, str]:
    """Every coding error in nested provision dicts, keyed by their path (`provisions[0].type`)."""
    errors: dict[str, str] = {}
    for index, item in enumerate(provisions):
        path = f"{where}[{index}]"
        if item.get("type") not in PROVISION_TYPES:
            errors[f"{path}.type"] = "must be 'permit' or 'deny'"
        kinds = [str(r.get("kind")) for r in item.get("recipients") or ()]
        errors.update(check_values(f"{path}.recipients.kind", kinds, RECIPIENT_KINDS))
        if item.get("type") == "permit":
            errors.update(named_only_errors(item.get("recipients") or (), f"{path}.recipients"))
        errors.update(check_values(f"{path}.purposes", item.get("purposes") or (), PURPOSES))
        errors.update(check_values(f"{path}.categories", item.get("categories") or (), CATEGORIES))
        errors.update(check_values(f"{path}.labels", item.get("labels") or (), LABELS))
        errors.update(provision_errors(item.get("provisions") or (), f"{path}.provisions"))
    return errors


@dataclass(frozen=True)
class Revocation:
    """One recipient the person withdrew from a consent, and the day they did."""

    recipient: Recipient
    revoked_on: dt.date


@dataclass(frozen=True)
class ConsentTerms:
    """What the decision engine needs of one consent directive at one version."""

    consent_id: str
    version: int
    person_id: str
    status: str
    part2: bool
    root: Provision
    start: dt.date | None = None
    end: dt.date | None = None
    signed_on: dt.date | None = None
    revocations: tuple[Revocation, ...] = ()

    def covered_labels(self) -> frozenset[str]:
        """Labels the root permit covers: listed, implied by its categories, Part 2 if it is one."""
        root = self.root
        covered = (root.labels | implied_labels(root.categories)) - {PART2}
        return covered | ({PART2} if self.part2 else frozenset())

    def in_force(self, on: dt.date) -> str | None:
        """None when the consent may apply on `on`, else why it may not."""
        if self.status != "active":
            return f"status {self.status}"
        if self.start is not None and on < self.start:
            return f"not valid before {self.start.isoformat()}"
        if self.end is not None and on > self.end:
            return f"expired {self.end.isoformat()}"
        return None


@dataclass(frozen=True)
class AgreementTerms:
    """The couple's information-sharing agreement in force."""

    agreement_id: str
    version: int
    mode: str
    partner_ids: frozenset[str]
    carve_outs: tuple[str, ...] = ()


@dataclass(frozen=True)
class BreakGlass:
    """An emergency; for Part 2 data also the 42 CFR 2.51 details of who received it."""

    kind: str
    justification: str
    received_by: str | None = None
    affiliation: str | None = None
    nature_of_emergency: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "justification": self.justification,
            "received_by": self.received_by,
            "affiliation": self.affiliation,
            "nature_of_emergency": self.nature_of_emergency,
        }


@dataclass(frozen=True)
class CarveOut:
    """A carve-out of the sharing agreement (safety threat, mandated report, court order)."""

    kind: str
    justification: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "justification": self.justification}


@dataclass(frozen=True)
class DecisionRequest:
    """May <actor> disclose <categories, labels> of <person> to <recipient> for <purpose> now?

    `labels` are what the caller declared plus what the named records carry; the engine adds
    what the categories imply (`effective_labels`), so a declaration can only add.
    """

    person_id: str
    actor_id: str
    recipient: Recipient
    purpose: str
    categories: frozenset[str]
    labels: frozenset[str]
    at: dt.datetime
    individual_session: bool = False
    break_glass: BreakGlass | None = None
    carve_out: CarveOut | None = None
    actor_role: str = "clinician"

    @cached_property
    def effective_labels(self) -> frozenset[str]:
        return self.labels | implied_labels(self.categories)

    @property
    def session_content(self) -> bool:
        """Content of a partner's individual session, declared or by its category."""
        return self.individual_session or "individual-session" in self.categories


@dataclass(frozen=True)
class Outcome:
    """The engine's answer: PERMIT, DENY or NO_CONSENT, its basis, obligations and trace."""

    outcome: str
    basis: dict[str, Any]
    obligations: tuple[dict[str, Any], ...] = ()
    trace: tuple[str, ...] = field(default=())

    @property
    def permitted(self) -> bool:
        return self.outcome == "PERMIT"


def require(errors: Mapping[str, str], detail: str) -> None:
    """Raise one 422 listing every broken field, if any."""
    if errors:
        raise RuleBroken(detail, errors=errors)
