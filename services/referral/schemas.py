"""HTTP request and response models of the referral API (separate from events and contracts)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from services.common.validation import RequestModel
from services.referral.domain.commands import (
    Complete,
    Decline,
    DraftReferral,
    RecordAttendance,
    ReviseReferral,
    Schedule,
)

ReferralType = Literal[
    "family-therapy",
    "detox",
    "outpatient-sud",
    "medication-support",
    "psychiatry",
    "ipv-advocacy",
    "individual-therapy",
]
Priority = Literal["routine", "urgent", "asap", "stat"]
Outcome = Literal[
    "treatment-completed", "engaged-in-care", "referred-on", "client-withdrew", "other"
]
Note = str | None
NOTE = Field(default=None, max_length=4000, description="why this step (free text; never logged)")
Id = Field(min_length=1, max_length=200)


class Strict(RequestModel):
    """Request bodies: unknown fields refused; every value checked by the kit (validation.py)."""


class OrganizationIn(Strict):
    id: str = Id
    name: str = Field(min_length=1, max_length=300)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=300)
    address: str | None = Field(default=None, max_length=500)


class ContactIn(Strict):
    name: str = Field(min_length=1, max_length=300)
    role: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=300)


class ReferralDetails(Strict):
    client_id: str = Id
    referral_type: ReferralType
    priority: Priority = "routine"
    reason: str = Field(min_length=1, max_length=4000)
    organization: OrganizationIn | None = None
    contact: ContactIn | None = None
    categories: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20
    )
    coordinator_id: str | None = Field(default=None, max_length=200)
    note: Note = NOTE

    def _parties(self) -> dict[str, Any]:
        """Organisation and contact as the domain takes them: plain dicts of the given fields."""
        return {
            party: None if value is None else value.model_dump(exclude_none=True)
            for party, value in (("organization", self.organization), ("contact", self.contact))
        }

    def revision(self) -> ReviseReferral:
        return ReviseReferral(
            client_id=self.client_id,
            referral_type=self.referral_type,
            priority=self.priority,
            reason=self.reason,
            coordinator_id=self.coordinator_id,
            categories=tuple(self.categories),
            note=self.note,
            **self._parties(),
        )


class ReferralCreate(ReferralDetails):
    plan_id: UUID

    def draft(self, *, coordinator_id: str | None) -> DraftReferral:
        """The draft a coordinator (or clinician) records; `coordinator_id` when none is given."""
        return DraftReferral(
            plan_id=self.plan_id,
            client_id=self.client_id,
            referral_type=self.referral_type,
            priority=self.priority,
            reason=self.reason,
            coordinator_id=coordinator_id if self.coordinator_id is None else self.coordinator_id,
            categories=tuple(self.categories),
            origin="coordinator",
            note=self.note,
            **self._parties(),
        )


class StepIn(Strict):
    note: Note = NOTE


class DeclineIn(StepIn):
    reason: str = Field(min_length=1, max_length=2000)

    def command(self) -> Decline:
        return Decline(reason=self.reason, note=self.note)


class ScheduleIn(StepIn):
    appointment_at: AwareDatetime

    def command(self) -> Schedule:
        return Schedule(appointment_at=self.appointment_at, note=self.note)


class AttendanceIn(StepIn):
    attended_at: AwareDatetime | None = None

    def command(self) -> RecordAttendance:
        return RecordAttendance(attended_at=self.attended_at, note=self.note)


class CompleteIn(StepIn):
    outcome: Outcome

    def command(self) -> Complete:
        return Complete(outcome=self.outcome, note=self.note)


class ReferralPublic(BaseModel):
    """A referral as the API shows it."""

    id: UUID
    version: int
    plan_id: UUID
    client_id: str | None
    referral_type: str
    priority: str
    reason: str | None = Field(None, description="left out for readers of no clinical text")
    organization: dict[str, Any] | None
    contact: dict[str, Any] | None
    coordinator_id: str | None
    origin: str
    source_id: str | None
    categories: list[str]
    security_labels: list[str]
    state: str
    status: str = Field(description="FHIR Task.status")
    business_status: str | None = Field(description="closed-loop business status")
    allowed_steps: list[str]
    consent: dict[str, Any] | None
    due: dict[str, str]
    appointment_at: dt.datetime | None
    attended_at: dt.datetime | None
    outcome: str | None
    decline_reason: str | None = Field(None, description="left out for readers of no clinical text")
    created_at: dt.datetime
    updated_at: dt.datetime
    redacted: list[str] = Field(default_factory=list, description="fields left out for you")
