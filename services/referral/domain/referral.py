"""The Referral aggregate: one referral from draft to a closed loop.

Each command method checks its command with a pure rule (`drafting` before the referral is sent,
`fulfilment` after), then records the event, whose method (a private `@event` method here, or
the `apply` of a `Fulfilment` event class) only applies the change (so replaying old events never
re-runs today's rules). Every event carries the referral's
`security_labels` (a detox referral's acceptance is Part 2 information too), so downstream
consumers can filter each record on its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.common.events import published
from services.referral.domain import commands, drafting, fulfilment
from services.referral.domain.fulfilment import LABELS, Fulfilment
from services.referral.domain.lifecycle import STATES, State, allowed_steps
from services.referral.domain.service_levels import ServiceLevels

Party = dict[str, Any] | None
Note = str | None
# How each event is published (contracts/envelope.md): every referral is restricted behavioural
# health information (LABELS); free text and contact details stay in the store, off the topic.
_ORGANIZATION = [f"organization.{detail}" for detail in ("name", "phone", "email", "address")]


class Referral(Fulfilment, Aggregate):
    """A referral of one client, serving one plan, to a receiving organisation.

    The events of the steps after sending are `Fulfilment`'s (fulfilment.py).
    """

    @classmethod
    def draft(cls, *, id: UUID, tenant: str, command: commands.DraftReferral) -> Referral:
        """Record a new draft referral (not yet sent); a plan suggestion may lack the client."""
        return cls(id=id, tenant=tenant, **drafting.drafted(command))

    @published(labels=LABELS, private=["reason", "note", "contact", *_ORGANIZATION], version=2)
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

    # -- commands: check with a rule, then apply its event --------------------------------------

    def revise(self, command: commands.ReviseReferral) -> None:
        """Replace the details of a draft (a suggestion gets its client and organisation here)."""
        self._revised(**drafting.revised(self, command))

    def check_can_send(self) -> None:
        """Raise before asking for consent when the referral could not be sent anyway."""
        drafting.check_sendable(self)

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
        fields = drafting.send_blocked(
            self,
            decision_id=decision_id,
            outcome=outcome,
            missing=missing,
            obligations=obligations,
            at=at,
        )
        self._send_blocked(**fields)

    def send(
        self,
        command: commands.SendReferral,
        *,
        decision_id: str,
        obligations: list[dict[str, Any]],
        levels: ServiceLevels,
        at: dt.datetime,
    ) -> None:
        """Send the referral on a PERMIT decision, with the due dates of its service levels."""
        fields = drafting.sent(
            self, command, decision_id=decision_id, obligations=obligations, levels=levels, at=at
        )
        self._sent(**fields)

    def receive(self, command: commands.Receive, *, at: dt.datetime) -> None:
        """The receiving organisation acknowledged receipt."""
        self.trigger_event(self.ReferralReceived, **fulfilment.step(self, command, at))

    def accept(self, command: commands.Accept, *, at: dt.datetime) -> None:
        self.trigger_event(self.ReferralAccepted, **fulfilment.accepted(self, command, at))

    def decline(self, command: commands.Decline, *, at: dt.datetime) -> None:
        self.trigger_event(self.ReferralDeclined, **fulfilment.declined(self, command, at))

    def schedule(self, command: commands.Schedule, *, at: dt.datetime) -> None:
        self.trigger_event(self.AppointmentScheduled, **fulfilment.scheduled(self, command, at))

    def record_no_show(self, command: commands.RecordNoShow, *, at: dt.datetime) -> None:
        self.trigger_event(
            self.AppointmentMissed, **fulfilment.appointment_missed_or_cancelled(self, command, at)
        )

    def cancel_appointment(self, command: commands.CancelAppointment, *, at: dt.datetime) -> None:
        self.trigger_event(
            self.AppointmentCancelled,
            **fulfilment.appointment_missed_or_cancelled(self, command, at),
        )

    def record_attendance(self, command: commands.RecordAttendance, *, at: dt.datetime) -> None:
        """The client attended; `attended_at` defaults to the scheduled time."""
        self.trigger_event(self.AppointmentAttended, **fulfilment.attended(self, command, at))

    def request_cancellation(
        self, command: commands.RequestCancellation, *, at: dt.datetime
    ) -> None:
        self.trigger_event(self.CancellationRequested, **fulfilment.step(self, command, at))

    def confirm_cancellation(
        self, command: commands.ConfirmCancellation, *, at: dt.datetime
    ) -> None:
        self.trigger_event(self.FulfillmentCancelled, **fulfilment.step(self, command, at))

    def cancel(self, command: commands.Cancel, *, at: dt.datetime) -> None:
        """Discard a draft (or a suggestion) that will not be sent."""
        self.trigger_event(self.ReferralCancelled, **fulfilment.step(self, command, at))

    def fail(self, command: commands.Fail, *, at: dt.datetime) -> None:
        """The referral could not be fulfilled (client unreachable, no capacity)."""
        self.trigger_event(self.ReferralFailed, **fulfilment.step(self, command, at))

    def complete(self, command: commands.Complete, *, at: dt.datetime) -> None:
        """Close the loop: the outcome came back from the receiving organisation."""
        self.trigger_event(self.ReferralCompleted, **fulfilment.completed(self, command, at))

    def mark_entered_in_error(
        self, command: commands.MarkEnteredInError, *, at: dt.datetime
    ) -> None:
        self.trigger_event(self.ReferralEnteredInError, **fulfilment.step(self, command, at))

    # -- events: each only applies its change ---------------------------------------------------

    @published(labels=LABELS, private=["reason", "note", "contact", *_ORGANIZATION], version=2)
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

    @published(labels=LABELS)
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

    @published(labels=LABELS, private=["note", *_ORGANIZATION], version=2)
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
