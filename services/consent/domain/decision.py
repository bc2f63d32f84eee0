"""Every answer of the decision point, recorded; break-glass answers wait for compliance review."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from contracts.records import META_KEY
from services.common.errors import Conflict, RuleBroken
from services.common.events import published
from services.common.ids import stable_id
from services.consent.domain.disclosure import RECIPIENT_DETAILS
from services.consent.domain.terms import DecisionRequest, Outcome

FINDINGS = ("justified", "not-justified", "needs-follow-up")
_NAMESPACE = UUID("8f4b2d3e-9a51-4c57-a7a8-2b1f6c0de002")
DEFAULT_VALIDITY = dt.timedelta(hours=24)
# Kept in the store, off the topic: who the recipient is, and every justification and detail
# written of an emergency or a carve-out (contracts/envelope.md).
DECISION_PRIVATE = [
    *RECIPIENT_DETAILS,
    *(
        f"break_glass.{f}"
        for f in ("justification", "received_by", "affiliation", "nature_of_emergency")
    ),
    "carve_out.justification",
]


class Decision(Aggregate):
    """One decision: the request, the outcome, its basis, obligations and trace.

    A PERMIT is good for one disclosure path: by the actor who asked, until `valid_until`.
    """

    @classmethod
    def record(
        cls,
        *,
        tenant: str,
        request: DecisionRequest,
        outcome: Outcome,
        validity: dt.timedelta = DEFAULT_VALIDITY,
        records: list[dict[str, Any]] | None = None,
    ) -> Decision:
        glass, carve = request.break_glass, request.carve_out
        free_text = glass is not None or carve is not None
        labels = request.effective_labels
        return cls(
            tenant=tenant,
            person_id=request.person_id,
            actor_id=request.actor_id,
            actor_role=request.actor_role,
            recipient=request.recipient.canonical().as_dict(),
            purpose=request.purpose,
            categories=sorted(request.categories),
            labels=sorted(labels),
            declared_labels=sorted(request.labels),
            records=[dict(r) for r in records or ()],
            # about_partner_of is never needed now (the partner is the recipient): kept, as None.
            context={"individual_session": request.session_content, "about_partner_of": None},
            break_glass=glass.as_dict() if glass is not None else None,
            carve_out=carve.as_dict() if carve is not None else None,
            decided_at=request.at,
            valid_until=request.at + validity,
            outcome=outcome.outcome,
            basis=dict(outcome.basis),
            obligations=[dict(o) for o in outcome.obligations],
            trace=list(outcome.trace),
            review_required=any(o["code"] == "compliance-review" for o in outcome.obligations),
            security_labels=sorted(labels | ({"R"} if free_text else set())),
        )

    @published(labels=["N"], private=DECISION_PRIVATE, version=3)
    @event("DecisionRecorded")
    def __init__(
        self,
        *,
        tenant: str,
        person_id: str,
        actor_id: str,
        actor_role: str,
        recipient: dict[str, Any],
        purpose: str,
        categories: list[str],
        labels: list[str],
        declared_labels: list[str],
        records: list[dict[str, Any]],
        context: dict[str, Any],
        break_glass: dict[str, Any] | None,
        carve_out: dict[str, Any] | None,
        decided_at: dt.datetime,
        valid_until: dt.datetime,
        outcome: str,
        basis: dict[str, Any],
        obligations: list[dict[str, Any]],
        trace: list[str],
        review_required: bool,
        security_labels: list[str],
    ) -> None:
        self.tenant = tenant
        self.person_id = person_id
        self.actor_id = actor_id
        self.actor_role = actor_role
        self.recipient = dict(recipient)
        self.purpose = purpose
        self.categories = list(categories)
        self.labels = list(labels)
        self.declared_labels = list(declared_labels)
        self.records = [dict(r) for r in records]
        self.context = dict(context)
        self.break_glass = dict(break_glass) if break_glass else None
        self.carve_out = dict(carve_out) if carve_out else None
        self.decided_at = decided_at
        self.valid_until = valid_until
        self.outcome = outcome
        self.basis = dict(basis)
        self.obligations = [dict(o) for o in obligations]
        self.trace = list(trace)
        self.review_required = review_required
        self.review: dict[str, Any] | None = None

    def close_review(self, *, finding: str, reviewer_id: str, note: str | None) -> None:
        """A compliance user closes the break-glass review with a finding."""
        if not self.review_required:
            raise Conflict(
                "this decision was neither break-glass nor a carve-out: nothing to review"
            )
        if self.review is not None:
            raise Conflict(f"the review was already closed with finding '{self.review['finding']}'")
        if finding not in FINDINGS:
            raise RuleBroken(
                "unknown finding", errors={"finding": f"use one of {', '.join(FINDINGS)}"}
            )
        self._review_closed(finding=finding, reviewer_id=reviewer_id, note=note)

    @published(labels=["R"], private=["note"], version=2)
    @event("BreakGlassReviewClosed")
    def _review_closed(self, finding: str, reviewer_id: str, note: str | None) -> None:
        self.review = {"finding": finding, "reviewer_id": reviewer_id, "note": note}

    def view(self) -> dict[str, Any]:
        return {
            "decision_id": str(self.id),
            "version": self.version,
            "person_id": self.person_id,
            "actor_id": self.actor_id,
            "actor_role": self.actor_role,
            "recipient": dict(self.recipient),
            "purpose": self.purpose,
            "categories": list(self.categories),
            "labels": list(self.labels),
            "declared_labels": list(self.declared_labels),
            "records": [dict(r) for r in self.records],
            "context": dict(self.context),
            "break_glass": dict(self.break_glass) if self.break_glass else None,
            "carve_out": dict(self.carve_out) if self.carve_out else None,
            "decided_at": self.decided_at,
            "valid_until": self.valid_until,
            "outcome": self.outcome,
            "basis": dict(self.basis),
            "obligations": [dict(o) for o in self.obligations],
            "trace": list(self.trace),
            "review_required": self.review_required,
            "review": dict(self.review) if self.review else None,
        }


def _decision_v1_to_v2(state: dict[str, Any]) -> None:
    """A v1 decision: valid a day for its actor, no carve-out, no named records."""
    decided_at = state["decided_at"]
    state["actor_role"] = state.get(META_KEY, {}).get("actor_role", "clinician")
    state["declared_labels"] = list(state["labels"])
    state["records"] = []
    if state.get("break_glass"):
        state["break_glass"] = {
            "received_by": None,
            "affiliation": None,
            "nature_of_emergency": None,
            **state["break_glass"],
        }
    state["carve_out"] = None
    state["valid_until"] = decided_at + DEFAULT_VALIDITY


Decision.DecisionRecorded.class_version = 2  # type: ignore[attr-defined]
Decision.DecisionRecorded.upcast_v1_v2 = staticmethod(_decision_v1_to_v2)  # type: ignore[attr-defined]


@lru_cache(maxsize=4096)  # every decision looks the person's file up by this id
def _person_file_id(tenant: str, person_id: str) -> UUID:
    return stable_id(_NAMESPACE, tenant, "person-file", person_id)


class PersonFile(Aggregate):
    """Index of one person's consents and disclosures, saved with them in one transaction."""

    @staticmethod
    def create_id(tenant: str, person_id: str) -> UUID:
        return _person_file_id(tenant, person_id)

    @staticmethod
    def legacy_id(tenant: str, person_id: str) -> UUID:
        """The id files opened before `stable_id` got; ambiguous, so loads check the owner."""
        return uuid.uuid5(_NAMESPACE, f"{tenant}:{person_id}")

    def belongs_to(self, tenant: str, person_id: str) -> bool:
        return self.tenant == tenant and self.person_id == person_id

    @published(labels=["N"])
    @event("PersonFileOpened")
    def __init__(self, *, tenant: str, person_id: str) -> None:
        self.tenant = tenant
        self.person_id = person_id
        self.consent_ids: list[str] = []
        self.disclosure_ids: list[str] = []

    @published(labels=["N"])
    @event("ConsentFiled")
    def file_consent(self, consent_id: str) -> None:
        self.consent_ids.append(consent_id)

    @published(labels=["N"])
    @event("DisclosureFiled")
    def file_disclosure(self, disclosure_id: str) -> None:
        self.disclosure_ids.append(disclosure_id)
