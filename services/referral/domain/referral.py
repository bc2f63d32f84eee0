"""The Referral aggregate: one referral from draft to a closed loop.

Public methods check the rule and the lifecycle step, then call a private `@event` method
that only applies the change (so replaying old events never re-runs today's rules). Every
event carries the referral's `security_labels` (a detox referral's acceptance is Part 2
information too), so downstream consumers can filter each record on its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.common.errors import RuleBroken
from services.common.events import published
from services.referral.domain.lifecycle import STATES, State, Step, allowed_steps, next_state
from services.referral.domain.service_levels import ServiceLevels
from services.referral.domain.vocabulary import (
    ORIGINS,
    OUTCOMES,
    check_aware,
    check_client,
    check_coded,
    check_details,
    discloses,
)

Party = dict[str, Any] | None
Note = str | None
# How each event is published (contracts/envelope.md): every referral is restricted behavioural
# health information; free text and contact details stay in the store, off the topic.
_LABELS = ("R", "BH")
_ORGANIZATION = [f"organization.{detail}" for detail in ("name", "phone", "email", "address")]
_step = published(labels=_LABELS, private=["note"], version=2)


class Referral(Aggregate):
    """A referral of one client, serving one plan, to a receiving organisation."""

    @classmethod
    def draft(
        cls,
        *,
        id: UUID,
        tenant: str,
        plan_id: UUID,
        client_id: str | None,
        referral_type: str,
        priority: str,
        reason: str,
        coordinator_id: str | None,
        organization: Party = None,
        contact: Party = None,
        categories: list[str] | None = None,
        origin: str = "coordinator",
        source_id: str | None = None,
        note: Note = None,
    ) -> Referral:
        """Record a new draft referral (not yet sent); a plan suggestion may lack the client."""
        check_details(referral_type, priority, organization, contact)
        check_coded("origin", origin, ORIGINS)
        if origin != "plan-suggestion":
            check_client(client_id)
        cats, labels = discloses(referral_type, categories or ())
        return cls(
            id=id,
            tenant=tenant,
            plan_id=plan_id,
            client_id=client_id,
            referral_type=referral_type,
            priority=priority,
            reason=reason,
            coordinator_id=coordinator_id,
            organization=organization,
            contact=contact,
            categories=cats,
            security_labels=labels,
            origin=origin,
            source_id=source_id,
            note=note,
        )

    @published(labels=_LABELS, private=["reason", "note", "contact", *_ORGANIZATION], version=2)
    @event("ReferralDrafted")
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        plan_id: UUID,
        client_id: str | None,
        referral_type: str,
        priority: str,
        reason: str,
        coordinator_id: str | None,
        organization: Party,
        contact: Party,
        categories: list[str],
        security_labels: list[str],
        origin: str,
        source_id: str | None,
        note: Note,
    ) -> None:
        self.tenant = tenant
        self.plan_id = plan_id
        self.client_id = client_id
        self.referral_type = referral_type
        self.priority = priority
        self.reason = reason
        self.coordinator_id = coordinator_id
        self.organization = organization
        self.contact = contact
        self.categories = categories
        self.security_labels = security_labels
        self.origin = origin
        self.source_id = source_id
        self.state = State.DRAFT
        self.consent: dict[str, Any] | None = None  # the last consent decision asked for
        self.due: dict[str, str] = {}
        self.appointment_at: dt.datetime | None = None
        self.attended_at: dt.datetime | None = None
        self.outcome: str | None = None
        self.decline_reason: str | None = None
        self.note = note

    @property
    def task_status(self) -> str:
        return STATES[self.state].task_status

    @property
    def business_status(self) -> str | None:
        return STATES[self.state].business_status

    @property
    def allowed_steps(self) -> list[str]:
        return allowed_steps(self.state)

    # -- the draft and sending it -----------------------------------------------------------

    def revise(
        self,
        *,
        client_id: str,
        referral_type: str,
        priority: str,
        reason: str,
        coordinator_id: str | None,
        organization: Party,
        contact: Party,
        categories: list[str] | None = None,
        note: Note = None,
    ) -> None:
        """Replace the details of a draft (a suggestion gets its client and organisation here)."""
        next_state(self.state, Step.REVISE)
        check_client(client_id)
        check_details(referral_type, priority, organization, contact)
        cats, labels = discloses(referral_type, categories or ())
        self._revised(
            client_id=client_id,
            referral_type=referral_type,
            priority=priority,
            reason=reason,
            coordinator_id=coordinator_id,
            organization=organization,
            contact=contact,
            categories=cats,
            security_labels=labels,
            note=note,
        )

    @published(labels=_LABELS, private=["reason", "note", "contact", *_ORGANIZATION], version=2)
    @event("ReferralRevised")
    def _revised(
        self,
        *,
        client_id: str,
        referral_type: str,
        priority: str,
        reason: str,
        coordinator_id: str | None,
        organization: Party,
        contact: Party,
        categories: list[str],
        security_labels: list[str],
        note: Note,
    ) -> None:
        self.client_id = client_id
        self.referral_type = referral_type
        self.priority = priority
        self.reason = reason
        self.coordinator_id = coordinator_id
        self.organization = organization
        self.contact = contact
        self.categories = categories
        self.security_labels = security_labels
        self.note = note

    def check_can_send(self) -> None:
        """Raise before asking for consent when the referral could not be sent anyway."""
        next_state(self.state, Step.SEND)
        check_client(self.client_id)
        if self.organization is None:
            raise RuleBroken(
                "the referral has no receiving organisation",
                errors={"organization": "revise the draft with the receiving organisation first"},
            )

    def block_send(
        self,
        *,
        decision_id: str,
        outcome: str,
        missing: str,
        obligations: list[dict[str, Any]],
        at: dt.datetime,
    ) -> None:
        """Record that the consent decision did not permit sending (the referral stays a draft)."""
        self.check_can_send()
        self._send_blocked(
            decision_id=decision_id,
            outcome=outcome,
            missing=missing,
            obligations=obligations,
            at=at,
            security_labels=self.security_labels,
        )

    @published(labels=_LABELS)
    @event("ReferralSendBlocked")
    def _send_blocked(
        self,
        *,
        decision_id: str,
        outcome: str,
        missing: str,
        obligations: list[dict[str, Any]],
        at: dt.datetime,
        security_labels: list[str],
    ) -> None:
        self.consent = {
            "decision_id": decision_id,
            "outcome": outcome,
            "missing": missing,
            "obligations": obligations,
        }

    def send(
        self,
        *,
        decision_id: str,
        obligations: list[dict[str, Any]],
        levels: ServiceLevels,
        at: dt.datetime,
        note: Note = None,
    ) -> None:
        """Send the referral on a PERMIT decision, with the due dates of its service levels."""
        self.check_can_send()
        assert self.client_id is not None  # checked above
        kind, priority = self.referral_type, self.priority
        self._sent(
            plan_id=self.plan_id,
            client_id=self.client_id,
            organization=self.organization,
            referral_type=kind,
            priority=priority,
            decision_id=decision_id,
            obligations=obligations,
            at=at,
            acknowledge_by=levels.acknowledge_by(kind, priority, at),
            first_appointment_by=levels.first_appointment_by(kind, priority, at),
            security_labels=self.security_labels,
            note=note,
        )

    @published(labels=_LABELS, private=["note", *_ORGANIZATION], version=2)
    @event("ReferralSent")
    def _sent(
        self,
        *,
        plan_id: UUID,
        client_id: str,
        organization: Party,
        referral_type: str,
        priority: str,
        decision_id: str,
        obligations: list[dict[str, Any]],
        at: dt.datetime,
        acknowledge_by: dt.datetime,
        first_appointment_by: dt.datetime,
        security_labels: list[str],
        note: Note,
    ) -> None:
        self.state = State.REQUESTED
        self.consent = {"decision_id": decision_id, "outcome": "PERMIT", "obligations": obligations}
        self.due = {
            "acknowledge_by": acknowledge_by.isoformat(),
            "first_appointment_by": first_appointment_by.isoformat(),
        }
        self.note = note

    # -- the receiving side and the closed loop ---------------------------------------------

    def receive(self, *, at: dt.datetime, note: Note = None) -> None:
        """The receiving organisation acknowledged receipt."""
        state = next_state(self.state, Step.RECEIVE)
        self._received(state=state, at=at, note=note, security_labels=self.security_labels)

    @_step
    @event("ReferralReceived")
    def _received(
        self, *, state: State, at: dt.datetime, note: Note, security_labels: list[str]
    ) -> None:
        self._move(state, note)

    def accept(self, *, at: dt.datetime, note: Note = None) -> None:
        state = next_state(self.state, Step.ACCEPT)
        self._accepted(
            state=state,
            plan_id=self.plan_id,
            at=at,
            note=note,
            security_labels=self.security_labels,
        )

    @_step
    @event("ReferralAccepted")
    def _accepted(
        self,
        *,
        state: State,
        plan_id: UUID,
        at: dt.datetime,
        note: Note,
        security_labels: list[str],
    ) -> None:
        self._move(state, note)

    def decline(self, *, reason: str, at: dt.datetime, note: Note = None) -> None:
        state = next_state(self.state, Step.DECLINE)
        if not reason.strip():
            raise RuleBroken("a decline needs a reason", errors={"reason": "say why"})
        self._declined(
            state=state, reason=reason, at=at, note=note, security_labels=self.security_labels
        )

    @published(labels=_LABELS, private=["note", "reason"], version=2)
    @event("ReferralDeclined")
    def _declined(
        self, *, state: State, reason: str, at: dt.datetime, note: Note, security_labels: list[str]
    ) -> None:
        self.decline_reason = reason
        self._move(state, note)

    def schedule(self, *, appointment_at: dt.datetime, at: dt.datetime, note: Note = None) -> None:
        state = next_state(self.state, Step.SCHEDULE)
        check_aware("appointment_at", appointment_at)
        self._scheduled(
            state=state,
            appointment_at=appointment_at,
            at=at,
            note=note,
            security_labels=self.security_labels,
        )

    @_step
    @event("AppointmentScheduled")
    def _scheduled(
        self,
        *,
        state: State,
        appointment_at: dt.datetime,
        at: dt.datetime,
        note: Note,
        security_labels: list[str],
    ) -> None:
        self.appointment_at = appointment_at
        self._move(state, note)

    def record_no_show(self, *, at: dt.datetime, note: Note = None) -> None:
        state = next_state(self.state, Step.RECORD_NO_SHOW)
        self._no_show(
            state=state,
            appointment_at=self.appointment_at,
            at=at,
            note=note,
            security_labels=self.security_labels,
        )

    @_step
    @event("AppointmentMissed")
    def _no_show(
        self,
        *,
        state: State,
        appointment_at: dt.datetime | None,
        at: dt.datetime,
        note: Note,
        security_labels: list[str],
    ) -> None:
        self._move(state, note)

    def cancel_appointment(self, *, at: dt.datetime, note: Note = None) -> None:
        state = next_state(self.state, Step.CANCEL_APPOINTMENT)
        self._appointment_cancelled(
            state=state,
            appointment_at=self.appointment_at,
            at=at,
            note=note,
            security_labels=self.security_labels,
        )

    @_step
    @event("AppointmentCancelled")
    def _appointment_cancelled(
        self,
        *,
        state: State,
        appointment_at: dt.datetime | None,
        at: dt.datetime,
        note: Note,
        security_labels: list[str],
    ) -> None:
        self._move(state, note)

    def record_attendance(
        self, *, at: dt.datetime, attended_at: dt.datetime | None = None, note: Note = None
    ) -> None:
        """The client attended; `attended_at` defaults to the scheduled time."""
        state = next_state(self.state, Step.RECORD_ATTENDANCE)
        when = attended_at or self.appointment_at
        check_aware("attended_at", when)
        assert when is not None
        self._attended(
            state=state, attended_at=when, at=at, note=note, security_labels=self.security_labels
        )

    @_step
    @event("AppointmentAttended")
    def _attended(
        self,
        *,
        state: State,
        attended_at: dt.datetime,
        at: dt.datetime,
        note: Note,
        security_labels: list[str],
    ) -> None:
        self.attended_at = attended_at
        self._move(state, note)

    def request_cancellation(self, *, at: dt.datetime, note: Note = None) -> None:
        state = next_state(self.state, Step.REQUEST_CANCELLATION)
        self._cancellation_requested(
            state=state, at=at, note=note, security_labels=self.security_labels
        )

    @_step
    @event("CancellationRequested")
    def _cancellation_requested(
        self, *, state: State, at: dt.datetime, note: Note, security_labels: list[str]
    ) -> None:
        self._move(state, note)

    def confirm_cancellation(self, *, at: dt.datetime, note: Note = None) -> None:
        state = next_state(self.state, Step.CONFIRM_CANCELLATION)
        self._fulfillment_cancelled(
            state=state, at=at, note=note, security_labels=self.security_labels
        )

    @_step
    @event("FulfillmentCancelled")
    def _fulfillment_cancelled(
        self, *, state: State, at: dt.datetime, note: Note, security_labels: list[str]
    ) -> None:
        self._move(state, note)

    def cancel(self, *, at: dt.datetime, note: Note = None) -> None:
        """Discard a draft (or a suggestion) that will not be sent."""
        state = next_state(self.state, Step.CANCEL)
        self._cancelled(state=state, at=at, note=note, security_labels=self.security_labels)

    @_step
    @event("ReferralCancelled")
    def _cancelled(
        self, *, state: State, at: dt.datetime, note: Note, security_labels: list[str]
    ) -> None:
        self._move(state, note)

    def fail(self, *, at: dt.datetime, note: Note = None) -> None:
        """The referral could not be fulfilled (client unreachable, no capacity)."""
        state = next_state(self.state, Step.FAIL)
        self._failed(state=state, at=at, note=note, security_labels=self.security_labels)

    @_step
    @event("ReferralFailed")
    def _failed(
        self, *, state: State, at: dt.datetime, note: Note, security_labels: list[str]
    ) -> None:
        self._move(state, note)

    def complete(self, *, outcome: str, at: dt.datetime, note: Note = None) -> None:
        """Close the loop: the outcome came back from the receiving organisation."""
        state = next_state(self.state, Step.COMPLETE)
        check_coded("outcome", outcome, OUTCOMES)
        self._completed(
            state=state,
            plan_id=self.plan_id,
            outcome=outcome,
            at=at,
            note=note,
            security_labels=self.security_labels,
        )

    @_step
    @event("ReferralCompleted")
    def _completed(
        self,
        *,
        state: State,
        plan_id: UUID,
        outcome: str,
        at: dt.datetime,
        note: Note,
        security_labels: list[str],
    ) -> None:
        self.outcome = outcome
        self._move(state, note)

    def mark_entered_in_error(self, *, at: dt.datetime, note: Note = None) -> None:
        state = next_state(self.state, Step.MARK_ENTERED_IN_ERROR)
        self._entered_in_error(state=state, at=at, note=note, security_labels=self.security_labels)

    @_step
    @event("ReferralEnteredInError")
    def _entered_in_error(
        self, *, state: State, at: dt.datetime, note: Note, security_labels: list[str]
    ) -> None:
        self._move(state, note)

    def _move(self, state: State | str, note: Note) -> None:
        self.state = State(state)
        self.note = note
