"""Every answer of the decision point, recorded; break-glass answers wait for compliance review."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.common.errors import Conflict, RuleBroken
from services.common.events import published
from services.consent.domain.disclosure import RECIPIENT_DETAILS
from services.consent.domain.terms import DecisionRequest, Outcome

FINDINGS = ("justified", "not-justified", "needs-follow-up")
_NAMESPACE = UUID("8f4b2d3e-9a51-4c57-a7a8-2b1f6c0de002")


class Decision(Aggregate):
    """One decision: the request, the outcome, its basis, obligations and trace."""

    @classmethod
    def record(cls, *, tenant: str, request: DecisionRequest, outcome: Outcome) -> Decision:
        break_glass = request.break_glass
        return cls(
            tenant=tenant,
            person_id=request.person_id,
            actor_id=request.actor_id,
            recipient=request.recipient.as_dict(),
            purpose=request.purpose,
            categories=sorted(request.categories),
            labels=sorted(request.labels),
            context={
                "individual_session": request.individual_session,
                "about_partner_of": request.about_partner_of,
            },
            break_glass=(
                {"kind": break_glass.kind, "justification": break_glass.justification}
                if break_glass is not None
                else None
            ),
            decided_at=request.at,
            outcome=outcome.outcome,
            basis=dict(outcome.basis),
            obligations=[dict(o) for o in outcome.obligations],
            trace=list(outcome.trace),
            review_required=any(o["code"] == "compliance-review" for o in outcome.obligations),
            security_labels=sorted(request.labels | ({"R"} if break_glass else set())),
        )

    @published(labels=["N"], private=[*RECIPIENT_DETAILS, "break_glass.justification"], version=2)
    @event("DecisionRecorded")
    def __init__(
        self,
        *,
        tenant: str,
        person_id: str,
        actor_id: str,
        recipient: dict[str, Any],
        purpose: str,
        categories: list[str],
        labels: list[str],
        context: dict[str, Any],
        break_glass: dict[str, Any] | None,
        decided_at: dt.datetime,
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
        self.recipient = dict(recipient)
        self.purpose = purpose
        self.categories = list(categories)
        self.labels = list(labels)
        self.context = dict(context)
        self.break_glass = dict(break_glass) if break_glass else None
        self.decided_at = decided_at
        self.outcome = outcome
        self.basis = dict(basis)
        self.obligations = [dict(o) for o in obligations]
        self.trace = list(trace)
        self.review_required = review_required
        self.review: dict[str, Any] | None = None

    def close_review(self, *, finding: str, reviewer_id: str, note: str | None) -> None:
        """A compliance user closes the break-glass review with a finding."""
        if not self.review_required:
            raise Conflict("this decision was not a break-glass decision: nothing to review")
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
            "recipient": dict(self.recipient),
            "purpose": self.purpose,
            "categories": list(self.categories),
            "labels": list(self.labels),
            "context": dict(self.context),
            "break_glass": dict(self.break_glass) if self.break_glass else None,
            "decided_at": self.decided_at,
            "outcome": self.outcome,
            "basis": dict(self.basis),
            "obligations": [dict(o) for o in self.obligations],
            "trace": list(self.trace),
            "review_required": self.review_required,
            "review": dict(self.review) if self.review else None,
        }


class PersonFile(Aggregate):
    """Index of one person's consents and disclosures, saved with them in one transaction."""

    @staticmethod
    def create_id(tenant: str, person_id: str) -> UUID:
        return uuid.uuid5(_NAMESPACE, f"{tenant}:{person_id}")

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
