"""A consent directive (FHIR Consent), including 42 CFR Part 2 written consents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from eventsourcing.domain import Aggregate, event

from contracts.categories import implied_labels
from services.common.errors import Conflict, InvalidTransition, RuleBroken
from services.common.events import published
from services.common.ids import canonical_id
from services.consent.domain.terms import (
    PART2,
    ConsentTerms,
    Provision,
    Recipient,
    Revocation,
    require,
)
from services.consent.domain.validation import canonical_terms, part2_missing, terms_errors

# Kept in the store, off the topic: free text and who the recipients are (contracts/envelope.md).
_PRIVATE_TERMS = [
    "description",
    "disclosers",
    "expiry_event",
    "signature.signed_by",
    *(
        f"{where}.{field}"
        for where in ("recipients[]", "provisions[]*.recipients[]")
        for field in ("name", "designation", "address")
    ),
]

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"proposed", "active", "rejected", "entered-in-error"}),
    "proposed": frozenset({"active", "rejected", "entered-in-error"}),
    "active": frozenset({"inactive", "entered-in-error"}),
    "inactive": frozenset({"entered-in-error"}),
    "rejected": frozenset({"entered-in-error"}),
    "entered-in-error": frozenset(),
}


class ConsentDirective(Aggregate):
    """Who may see what of one person: status, scope, recipients, purposes, data, period."""

    @classmethod
    def create(cls, *, tenant: str, terms: dict[str, Any]) -> ConsentDirective:
        """A new directive (draft or proposed); a Part 2 consent must have every element.

        Recipient ids are stored in canonical form; a consent whose categories are Part 2
        records (substance use, SUD counselling notes) is a Part 2 consent.
        """
        terms = canonical_terms(terms)
        if (
            terms.get("part2")
            or PART2 in (terms.get("labels") or ())
            or PART2 in implied_labels(terms.get("categories") or ())
        ):
            terms = {**terms, "part2": True, "labels": sorted({*terms["labels"], PART2})}
        errors = terms_errors(terms)
        if terms.get("part2"):
            errors.update(part2_missing(terms))
        require(errors, _detail(errors))
        if terms["status"] not in ("draft", "proposed"):
            raise RuleBroken(
                "a consent starts as a draft or proposed; activate it once signed",
                errors={"status": "use 'draft' or 'proposed'"},
            )
        return cls(tenant=tenant, security_labels=list(terms["labels"]), **terms)

    @published(labels=["N"], private=_PRIVATE_TERMS, version=3)
    @event("ConsentCreated")
    def __init__(
        self,
        *,
        tenant: str,
        person_id: str,
        status: str,
        scope: str,
        part2: bool,
        disclosers: list[str],
        description: str | None,
        recipients: list[dict[str, Any]],
        purposes: list[str],
        categories: list[str],
        labels: list[str],
        provision_type: str,
        provisions: list[dict[str, Any]],
        start: dt.date | None,
        end: dt.date | None,
        expiry_event: str | None,
        revocation_right_acknowledged: bool,
        signature: dict[str, Any] | None,
        security_labels: list[str],
    ) -> None:
        self.tenant = tenant
        self.person_id = person_id
        self.status = status
        self.scope = scope
        self.part2 = part2
        self.disclosers = list(disclosers)
        self.description = description
        self.recipients = [dict(r) for r in recipients]
        self.revoked_recipients: list[dict[str, Any]] = []
        self.purposes = list(purposes)
        self.categories = list(categories)
        self.labels = list(labels)
        self.provision_type = provision_type
        self.provisions = [dict(p) for p in provisions]
        self.start = start
        self.end = end
        self.expiry_event = expiry_event
        self.revocation_right_acknowledged = revocation_right_acknowledged
        self.signature = dict(signature) if signature else None
        self.status_reason: str | None = None
        self.status_on: dt.date | None = None

    def _move(self, requested: str) -> None:
        if requested not in TRANSITIONS[self.status]:
            raise InvalidTransition("consent", self.status, requested, TRANSITIONS[self.status])

    def activate(self, *, on: dt.date) -> None:
        """The signed consent takes effect."""
        self._move("active")
        if not self.signature or not self.signature.get("signed_by"):
            raise RuleBroken(
                "an unsigned consent cannot be activated",
                errors={"signature": "record who signed (signed_by) and when (signed_on)"},
            )
        if self.end is not None and on > self.end:
            raise Conflict(f"the consent ended on {self.end.isoformat()}: it cannot be activated")
        self._activated(activated_on=on, security_labels=list(self.labels))

    @published(labels=["N"])
    @event("ConsentActivated")
    def _activated(self, activated_on: dt.date, security_labels: list[str]) -> None:
        self.status = "active"
        self.status_on = activated_on

    def reject(self, *, on: dt.date) -> None:
        self._move("rejected")
        self._rejected(rejected_on=on, security_labels=list(self.labels))

    @published(labels=["N"])
    @event("ConsentRejected")
    def _rejected(self, rejected_on: dt.date, security_labels: list[str]) -> None:
        self.status = "rejected"
        self.status_on = rejected_on

    def revoke(self, *, on: dt.date, in_writing: bool) -> None:
        """The person withdraws the whole consent; it never permits again."""
        self._move("inactive")
        if self.part2 and not in_writing:
            raise RuleBroken(
                "a Part 2 consent is revoked in writing",
                errors={"in_writing": "must be true for a 42 CFR Part 2 consent"},
            )
        self._revoked(revoked_on=on, in_writing=in_writing, security_labels=list(self.labels))

    @published(labels=["N"])
    @event("ConsentRevoked")
    def _revoked(self, revoked_on: dt.date, in_writing: bool, security_labels: list[str]) -> None:
        self.status = "inactive"
        self.status_reason = "revoked"
        self.status_on = revoked_on

    def revoke_recipient(self, *, recipient_id: str, on: dt.date, in_writing: bool) -> None:
        """Withdraw one recipient of a multi-party consent; the others keep their permission."""
        if self.status != "active":
            raise InvalidTransition("consent", self.status, "inactive", TRANSITIONS[self.status])
        named = [r for r in self.recipients if _same_id(r, recipient_id)]
        if not named:
            ids = ", ".join(str(r.get("id")) for r in self.recipients)
            raise RuleBroken(
                f"the consent does not name recipient {recipient_id}",
                errors={"recipient_id": f"must be one of {ids}"},
            )
        if len(self.recipients) == 1:
            raise Conflict(
                "this is the consent's only recipient: revoke the whole consent instead "
                "(POST /consents/{id}/revocation without recipient_id)"
            )
        self._recipient_revoked(
            recipient_id=recipient_id,
            revoked_on=on,
            in_writing=in_writing,
            security_labels=list(self.labels),
        )

    @published(labels=["N"])
    @event("ConsentRecipientRevoked")
    def _recipient_revoked(
        self, recipient_id: str, revoked_on: dt.date, in_writing: bool, security_labels: list[str]
    ) -> None:
        revoked = [r for r in self.recipients if _same_id(r, recipient_id)]
        self.revoked_recipients += [{**r, "revoked_on": revoked_on.isoformat()} for r in revoked]
        self.recipients = [r for r in self.recipients if not _same_id(r, recipient_id)]

    def expire(self, *, on: dt.date, expiry_event: str | None) -> None:
        """The end date has passed, or the expiry event named in the consent occurred."""
        self._move("inactive")
        if expiry_event is None and (self.end is None or on <= self.end):
            raise Conflict(
                "the consent has not reached its end date: give the expiry event that occurred "
                "or revoke it instead"
            )
        self._expired(expired_on=on, expiry_event=expiry_event, security_labels=list(self.labels))

    @published(labels=["N"], private=["expiry_event"], version=2)
    @event("ConsentExpired")
    def _expired(
        self, expired_on: dt.date, expiry_event: str | None, security_labels: list[str]
    ) -> None:
        self.status = "inactive"
        self.status_reason = "expired"
        self.status_on = expired_on

    def enter_in_error(self, *, on: dt.date) -> None:
        """The directive was recorded by mistake; it never applies, its history stays."""
        self._move("entered-in-error")
        self._entered_in_error(on=on, security_labels=list(self.labels))

    @published(labels=["N"])
    @event("ConsentEnteredInError")
    def _entered_in_error(self, on: dt.date, security_labels: list[str]) -> None:
        self.status = "entered-in-error"
        self.status_on = on

    def terms(self) -> ConsentTerms:
        """The decision engine's view of this consent at this version."""
        root = Provision.from_dict(
            {
                "type": self.provision_type,
                "recipients": self.recipients,
                "purposes": self.purposes,
                "categories": self.categories,
                "labels": self.labels,
                "provisions": self.provisions,
            }
        )
        signed_on = (self.signature or {}).get("signed_on")
        return ConsentTerms(
            consent_id=str(self.id),
            version=self.version,
            person_id=self.person_id,
            status=self.status,
            part2=self.part2,
            root=root,
            start=self.start,
            end=self.end,
            signed_on=dt.date.fromisoformat(str(signed_on)) if signed_on else None,
            revocations=tuple(
                Revocation(Recipient.from_dict(r), dt.date.fromisoformat(r["revoked_on"]))
                for r in self.revoked_recipients
            ),
        )

    def names_recipient(self, recipient: Recipient) -> bool:
        return any(Recipient.from_dict(r).names(recipient) for r in self.recipients)

    def view(self) -> dict[str, Any]:
        return {
            "consent_id": str(self.id),
            "version": self.version,
            "person_id": self.person_id,
            "status": self.status,
            "status_reason": self.status_reason,
            "scope": self.scope,
            "part2": self.part2,
            "disclosers": list(self.disclosers),
            "description": self.description,
            "recipients": [dict(r) for r in self.recipients],
            "revoked_recipients": [dict(r) for r in self.revoked_recipients],
            "purposes": list(self.purposes),
            "categories": list(self.categories),
            "labels": list(self.labels),
            "provision_type": self.provision_type,
            "provisions": [dict(p) for p in self.provisions],
            "start": self.start,
            "end": self.end,
            "expiry_event": self.expiry_event,
            "revocation_right_acknowledged": self.revocation_right_acknowledged,
            "signature": dict(self.signature) if self.signature else None,
        }


def _same_id(recipient: Mapping[str, Any], recipient_id: str) -> bool:
    ident = recipient.get("id")
    return ident is not None and canonical_id(str(ident)) == canonical_id(recipient_id)


def _detail(errors: Mapping[str, str]) -> str:
    return "the consent is incomplete or invalid: " + ", ".join(sorted(errors))
