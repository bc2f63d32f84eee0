"""A disclosure actually made, resting on a PERMIT decision that matches it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.common.errors import Conflict
from services.common.events import published
from services.consent.domain.terms import PART2

# Who a recipient is, beyond its kind and id: kept in the store, off the topic.
RECIPIENT_DETAILS = ("recipient.name", "recipient.designation", "recipient.address")

CLOCK_SKEW = dt.timedelta(minutes=5)  # the discloser's clock may run a little behind ours


def mismatches(decision: Mapping[str, Any], disclosure: Mapping[str, Any]) -> dict[str, str]:
    """Why a disclosure does not fit the decision it names (empty when it fits)."""
    found: dict[str, str] = {}
    if decision["outcome"] != "PERMIT":
        found["decision_id"] = f"the decision is {decision['outcome']}, not PERMIT"
    if decision["person_id"] != disclosure["person_id"]:
        found["person_id"] = "the decision is about another person"
    wanted, given = decision["recipient"], disclosure["recipient"]
    if (wanted.get("kind"), wanted.get("id")) != (given.get("kind"), given.get("id")):
        found["recipient"] = (
            f"the decision permits {wanted.get('kind')} {wanted.get('id')}, "
            f"not {given.get('kind')} {given.get('id')}"
        )
    if decision["purpose"] != disclosure["purpose"]:
        found["purpose"] = (
            f"the decision permits purpose {decision['purpose']}, not {disclosure['purpose']}"
        )
    if disclosure["disclosed_at"] < decision["decided_at"] - CLOCK_SKEW:
        found["disclosed_at"] = (
            f"before the decision it rests on (decided at {decision['decided_at'].isoformat()}): "
            "ask for a decision before disclosing"
        )
    extra = sorted(set(disclosure["categories"]) - set(decision["categories"]))
    if extra:
        found["categories"] = f"not covered by the decision: {', '.join(extra)}"
    redacted: set[str] = set()
    for obligation in decision.get("obligations", ()):
        if obligation.get("code") == "redact":
            redacted.update(obligation.get("labels", ()))
    extra_labels = sorted(set(disclosure["labels"]) - (set(decision["labels"]) - redacted))
    if extra_labels:
        found["labels"] = (
            f"not permitted by the decision (or to be redacted): {', '.join(extra_labels)}"
        )
    return found


class Disclosure(Aggregate):
    """What left the practice, to whom, when, why, on which decision, and who sent it."""

    @classmethod
    def record(
        cls, *, tenant: str, decision: Mapping[str, Any], terms: dict[str, Any]
    ) -> Disclosure:
        found = mismatches(decision, terms)
        if found:
            raise Conflict(
                "the disclosure does not match the decision it names: "
                + "; ".join(f"{k}: {v}" for k, v in found.items()),
                mismatches=found,
            )
        labels = sorted(terms["labels"])
        basis = decision["basis"]
        return cls(
            tenant=tenant,
            decision_version=int(decision["version"]),
            consent_id=basis.get("consent_id"),
            consent_version=basis.get("consent_version"),
            basis_rule=basis.get("rule"),
            part2=PART2 in labels,
            security_labels=labels,
            **{**terms, "labels": labels, "categories": sorted(terms["categories"])},
        )

    @published(labels=["N"], private=["description", *RECIPIENT_DETAILS], version=2)
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
        recipient: dict[str, Any],
        description: str,
        categories: list[str],
        labels: list[str],
        purpose: str,
        disclosed_at: dt.datetime,
        disclosed_by: str,
        part2: bool,
        security_labels: list[str],
    ) -> None:
        self.tenant = tenant
        self.person_id = person_id
        self.decision_id = decision_id
        self.decision_version = decision_version
        self.consent_id = consent_id
        self.consent_version = consent_version
        self.basis_rule = basis_rule
        self.recipient = dict(recipient)
        self.description = description
        self.categories = list(categories)
        self.labels = list(labels)
        self.purpose = purpose
        self.disclosed_at = disclosed_at
        self.disclosed_by = disclosed_by
        self.part2 = part2

    def view(self) -> dict[str, Any]:
        return {
            "disclosure_id": str(self.id),
            "version": self.version,
            "person_id": self.person_id,
            "decision_id": self.decision_id,
            "consent_id": self.consent_id,
            "consent_version": self.consent_version,
            "basis_rule": self.basis_rule,
            "recipient": dict(self.recipient),
            "description": self.description,
            "categories": list(self.categories),
            "labels": list(self.labels),
            "purpose": self.purpose,
            "disclosed_at": self.disclosed_at,
            "disclosed_by": self.disclosed_by,
            "part2": self.part2,
            "recorded_at": self.created_on,
        }
