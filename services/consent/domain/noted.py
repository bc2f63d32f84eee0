"""A disclosure that rests on no decision of this service: one made outside the system on a
paper consent or a legal exception (recorded late), or a referral send whose decision this
service cannot find (recorded all the same, with the problem named, so nothing is missed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from contracts.categories import implied_labels
from services.common.events import published
from services.consent.domain.disclosure import (
    RECIPIENT_DETAILS,
    DisclosureView,
    source_id,
    what_went,
)


class NotedDisclosure(DisclosureView, Aggregate):
    """What left the practice without a decision of this service behind it."""

    @staticmethod
    def create_id(source_ref: str | None) -> UUID:
        return source_id(source_ref)

    @classmethod
    def on_record(
        cls,
        *,
        tenant: str,
        terms: Mapping[str, Any],
        basis: Mapping[str, Any],
        recorded_by: str,
        source: str,
    ) -> NotedDisclosure:
        """Made earlier on a paper consent or a legal exception; labels from its categories."""
        labels = set(terms.get("labels") or ()) | implied_labels(terms["categories"])
        rule = None if basis["kind"] == "paper-consent" else f"carve-out:{basis['exception']}"
        return cls(
            tenant=tenant,
            **what_went(terms, labels),
            basis=dict(basis),
            basis_rule=rule,
            recorded_by=recorded_by,
            source=source,
            problems={},
            source_ref=None,
        )

    @classmethod
    def on_unknown_decision(
        cls,
        *,
        tenant: str,
        terms: Mapping[str, Any],
        decision_id: str,
        labels: list[str],
        recorded_by: str,
        source_ref: str,
    ) -> NotedDisclosure:
        """A referral sent on a decision this service does not have: the record's labels."""
        return cls(
            tenant=tenant,
            **what_went(terms, labels),
            basis={"kind": "decision", "decision_id": decision_id},
            basis_rule=None,
            recorded_by=recorded_by,
            source="referral-send",
            problems={"decision_id": "no such decision in this practice"},
            source_ref=source_ref,
        )

    @published(labels=["N"], private=["description", *RECIPIENT_DETAILS, "basis.reference"])
    @event("DisclosureNoted")
    def __init__(
        self,
        *,
        tenant: str,
        person_id: str,
        basis: dict[str, Any],
        basis_rule: str | None,
        recipient: dict[str, Any],
        description: str,
        categories: list[str],
        labels: list[str],
        purpose: str,
        disclosed_at: dt.datetime,
        disclosed_by: str,
        part2: bool,
        recorded_by: str,
        source: str,
        problems: dict[str, str],
        source_ref: str | None,
        security_labels: list[str],
    ) -> None:
        self.hold(locals())
        self.decision_id = None
        self.decision_version = None
        self.consent_id = None
        self.consent_version = None
        self.obligations_met = []
        self.recorded_late = source != "referral-send"
