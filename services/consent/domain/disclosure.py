"""A disclosure actually made: on a PERMIT decision that matches it, or recorded late on the
basis it had then (a decision, a paper consent, a legal exception), or from a referral send.

The disclosure takes its labels and Part 2 status from the decision it rests on (less what the
decision said to redact), and records which obligations were met: the Part 2 notice attached
(with its text), the labels redacted, compliance notified.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.common.errors import Conflict
from services.common.events import published
from services.common.ids import canonical_id
from services.consent.domain.terms import PART2

# Who a recipient is, beyond its kind and id: kept in the store, off the topic.
RECIPIENT_DETAILS = ("recipient.name", "recipient.designation", "recipient.address")

CLOCK_SKEW = dt.timedelta(minutes=5)  # the discloser's clock may run a little behind ours
DISCLOSER_DUTIES = frozenset({"attach-part2-notice", "redact"})
SOURCES = ("system", "outside-system", "import", "referral-send")
_NAMESPACE = UUID("8f4b2d3e-9a51-4c57-a7a8-2b1f6c0de003")


def disclosure_id(source_ref: str) -> UUID:
    """The id of the disclosure recorded from one record of another service."""
    return uuid.uuid5(_NAMESPACE, source_ref)


def redacted(decision: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for obligation in decision.get("obligations", ()):
        if obligation.get("code") == "redact":
            found.update(obligation.get("labels", ()))
    return found


def fit(decision: Mapping[str, Any], disclosure: Mapping[str, Any]) -> dict[str, str]:
    """Why a disclosure does not fit the decision it names, whenever it was recorded."""
    found: dict[str, str] = {}
    if decision["outcome"] != "PERMIT":
        found["decision_id"] = f"the decision is {decision['outcome']}, not PERMIT"
    if decision["person_id"] != disclosure["person_id"]:
        found["person_id"] = "the decision is about another person"
    wanted, given = decision["recipient"], disclosure["recipient"]
    if (wanted.get("kind"), wanted.get("id")) != (given.get("kind"), _id(given)):
        found["recipient"] = (
            f"the decision permits {wanted.get('kind')} {wanted.get('id')}, "
            f"not {given.get('kind')} {given.get('id')}"
        )
    if decision["purpose"] != disclosure["purpose"]:
        found["purpose"] = (
            f"the decision permits purpose {decision['purpose']}, not {disclosure['purpose']}"
        )
    if disclosure["disclosed_by"] != decision["actor_id"]:
        found["disclosed_by"] = (
            f"the decision was asked by {decision['actor_id']}: the one who asked discloses "
            "on it, anyone else asks for a decision of their own"
        )
    when: dt.datetime = disclosure["disclosed_at"]
    if when < decision["decided_at"] - CLOCK_SKEW:
        found["disclosed_at"] = (
            f"before the decision it rests on (decided at {decision['decided_at'].isoformat()}): "
            "ask for a decision before disclosing"
        )
    elif when > decision["valid_until"]:
        found["disclosed_at"] = (
            f"after the decision expired ({decision['valid_until'].isoformat()}): "
            "ask for a new decision"
        )
    extra = sorted(set(disclosure["categories"]) - set(decision["categories"]))
    if extra:
        found["categories"] = f"not covered by the decision: {', '.join(extra)}"
    allowed = set(decision["labels"]) - redacted(decision)
    extra_labels = sorted(set(disclosure.get("labels") or ()) - allowed)
    if extra_labels:
        found["labels"] = (
            f"not permitted by the decision (or to be redacted): {', '.join(extra_labels)}"
        )
    return found


def unmet(decision: Mapping[str, Any], met: list[str]) -> dict[str, str]:
    """The discloser's obligations of the decision that the disclosure does not say it met."""
    owed = sorted(
        {o["code"] for o in decision.get("obligations", ())} & DISCLOSER_DUTIES - set(met)
    )
    if not owed:
        return {}
    return {"obligations_met": f"the decision obliges the discloser to: {', '.join(owed)}"}


def obligations_met(decision: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The decision's obligations, as met: the notice with its text, labels redacted, review."""
    return [dict(o) for o in decision.get("obligations", ())]


def raise_mismatches(found: Mapping[str, str]) -> None:
    if found:
        raise Conflict(
            "the disclosure does not match the decision it names: "
            + "; ".join(f"{k}: {v}" for k, v in found.items()),
            mismatches=dict(found),
        )


def _id(recipient: Mapping[str, Any]) -> str | None:
    ident = recipient.get("id")
    return canonical_id(str(ident)) if ident is not None else None


class DisclosureView:
    """What every kind of disclosure shows: the fields both disclosure aggregates keep."""

    id: UUID
    version: int
    created_on: dt.datetime
    person_id: str
    decision_id: str | None
    consent_id: str | None
    consent_version: int | None
    basis_rule: str | None
    basis: dict[str, Any]
    recipient: dict[str, Any]
    description: str
    categories: list[str]
    labels: list[str]
    purpose: str
    disclosed_at: dt.datetime
    disclosed_by: str
    part2: bool
    obligations_met: list[dict[str, Any]]
    recorded_late: bool
    recorded_by: str
    source: str
    problems: dict[str, str]
    source_ref: str | None

    def hold(self, fields: Mapping[str, Any]) -> None:
        """Keep the fields of the creation event (lists and dicts copied)."""
        for name, value in fields.items():
            if name not in ("self", "__class__"):
                setattr(self, name, type(value)(value) if isinstance(value, list | dict) else value)

    def view(self) -> dict[str, Any]:
        return {
            "disclosure_id": str(self.id),
            "version": self.version,
            "person_id": self.person_id,
            "decision_id": self.decision_id,
            "consent_id": self.consent_id,
            "consent_version": self.consent_version,
            "basis_rule": self.basis_rule,
            "basis": dict(self.basis),
            "recipient": dict(self.recipient),
            "description": self.description,
            "categories": list(self.categories),
            "labels": list(self.labels),
            "purpose": self.purpose,
            "disclosed_at": self.disclosed_at,
            "disclosed_by": self.disclosed_by,
            "part2": self.part2,
            "obligations_met": [dict(o) for o in self.obligations_met],
            "recorded_late": self.recorded_late,
            "recorded_by": self.recorded_by,
            "source": self.source,
            "problems": dict(self.problems),
            "source_ref": self.source_ref,
            "recorded_at": self.created_on,
        }


def what_went(terms: Mapping[str, Any], labels: Iterable[str]) -> dict[str, Any]:
    """The fields of what was disclosed, to whom, when and why, as every disclosure stores them."""
    ordered = sorted(set(labels))
    return {
        **{
            k: terms[k]
            for k in ("person_id", "description", "purpose", "disclosed_at", "disclosed_by")
        },
        "recipient": {**terms["recipient"], "id": _id(terms["recipient"])},
        "categories": sorted(terms["categories"]),
        "labels": ordered,
        "part2": PART2 in ordered,
        "security_labels": ordered,
    }


def source_id(source_ref: str | None) -> UUID:
    return disclosure_id(source_ref) if source_ref else uuid.uuid4()


class Disclosure(DisclosureView, Aggregate):
    """What left the practice on a decision of this service, to whom, when, why, who sent it.

    A disclosure recorded from another service's record (`source_ref`, the record's `ce_id`)
    has an id derived from it, so the same record can never record it twice.
    """

    @staticmethod
    def create_id(source_ref: str | None) -> UUID:
        return source_id(source_ref)

    @classmethod
    def on_decision(
        cls,
        *,
        tenant: str,
        decision: Mapping[str, Any],
        terms: Mapping[str, Any],
        recorded_by: str,
        source: str = "system",
        late: bool = False,
        problems: Mapping[str, str] | None = None,
        source_ref: str | None = None,
        extra_labels: Iterable[str] = (),
    ) -> Disclosure:
        """A disclosure on a decision; labels and Part 2 status come from the decision (and
        `extra_labels`, what the record of a referral send carries, can only add)."""
        basis = decision["basis"]
        return cls(
            tenant=tenant,
            **what_went(terms, (set(decision["labels"]) - redacted(decision)) | set(extra_labels)),
            decision_id=str(decision["decision_id"]),
            decision_version=int(decision["version"]),
            consent_id=basis.get("consent_id"),
            consent_version=basis.get("consent_version"),
            basis_rule=basis.get("rule"),
            basis={"kind": "decision"},
            obligations_met=obligations_met(decision),
            recorded_late=late,
            recorded_by=recorded_by,
            source=source,
            problems=dict(problems or {}),
            source_ref=source_ref,
        )

    @published(labels=["N"], private=["description", *RECIPIENT_DETAILS], version=3)
    @event("DisclosureRecorded")
    def __init__(
        self,
        *,
        tenant: str,
        person_id: str,
        decision_id: str,
        decision_version: int,
        consent_id: str | None,
        consent_version: int | None,
        basis_rule: str | None,
        basis: dict[str, Any],
        recipient: dict[str, Any],
        description: str,
        categories: list[str],
        labels: list[str],
        purpose: str,
        disclosed_at: dt.datetime,
        disclosed_by: str,
        part2: bool,
        obligations_met: list[dict[str, Any]],
        recorded_late: bool,
        recorded_by: str,
        source: str,
        problems: dict[str, str],
        source_ref: str | None,
        security_labels: list[str],
    ) -> None:
        self.hold(locals())


def _disclosure_v1_to_v2(state: dict[str, Any]) -> None:
    """A v1 disclosure: recorded in the system on its decision, obligations not recorded."""
    state["basis"] = {"kind": "decision"}
    state["obligations_met"] = []
    state["recorded_late"] = False
    state["recorded_by"] = state["disclosed_by"]
    state["source"] = "system"
    state["problems"] = {}
    state["source_ref"] = None


Disclosure.DisclosureRecorded.class_version = 2  # type: ignore[attr-defined]
Disclosure.DisclosureRecorded.upcast_v1_v2 = staticmethod(_disclosure_v1_to_v2)  # type: ignore[attr-defined]
