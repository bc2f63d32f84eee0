"""HTTP request and response models of the plan API (separate from events and contracts).

Pydantic checks shapes and value sets (a 422 naming the field); the domain checks the rules.
The literal value sets mirror the domain's tuples; a unit test keeps them equal.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.validation import RequestModel

UnitKind = Literal["couple", "family", "individual"]
Sex = Literal["male", "female", "other", "unknown"]
ClinicianRole = Literal[
    "couples-therapist", "individual-therapist", "family-therapist", "care-coordinator"
]
SessionFormat = Literal["joint", "individual", "family", "group"]
Modality = Literal["in-person", "telehealth"]
PlanStatus = Literal["draft", "active", "on-hold", "completed", "revoked", "entered-in-error"]
GoalStatus = Literal[
    "proposed",
    "planned",
    "accepted",
    "active",
    "on-hold",
    "completed",
    "cancelled",
    "entered-in-error",
    "rejected",
]
GoalStartStatus = Literal["proposed", "planned", "accepted", "active"]
Achievement = Literal[
    "in-progress",
    "improving",
    "worsening",
    "no-change",
    "achieved",
    "sustaining",
    "not-achieved",
    "no-progress",
    "not-attainable",
]
ShiftReason = Literal[
    "intimate-partner-violence",
    "coercive-control",
    "protective-order",
    "substance-use",
    "withdrawal-risk",
    "self-harm-risk",
    "acute-symptoms",
    "high-reactivity",
    "one-partner-ready",
    "cool-down",
    "ready-to-resume",
]
Mix = dict[SessionFormat, int]
MIX_EXAMPLE = {"joint": 2, "individual": 2}
ClientId = Annotated[str, Field(min_length=1, max_length=100, description="an EHR client id")]
Phrase = Annotated[str, Field(min_length=1, max_length=500)]


class Strict(RequestModel):
    """Request bodies: unknown fields refused; every value checked by the kit (validation.py)."""


class Member(Strict):
    client_id: str = Field(min_length=1, max_length=100, description="the EHR client id")
    sex: Sex = Field("unknown", description="for the AUDIT-C cut-off (4 men, 3 otherwise)")


class Clinician(Strict):
    clinician_id: str = Field(min_length=1, max_length=100)
    roles: list[ClinicianRole] = Field(min_length=1, max_length=4)


class PlanCreate(Strict):
    unit_kind: UnitKind
    members: list[Member] = Field(min_length=1, max_length=12)
    clinicians: list[Clinician] = Field(min_length=1, max_length=20)
    mix: Mix = Field(description="intended sessions per cadence, by format", examples=[MIX_EXAMPLE])
    cadence_weeks: int = Field(4, ge=1, le=12)
    review_interval_weeks: int = Field(4, ge=1, le=26)
    starts_on: dt.date


class StatusChange(Strict):
    status: PlanStatus
    reason: str | None = Field(None, max_length=500)


class ScheduleChange(Strict):
    cadence_weeks: int | None = Field(None, ge=1, le=12)
    review_interval_weeks: int | None = Field(None, ge=1, le=26)
    next_review_on: dt.date | None = None


class GoalCreate(Strict):
    description: str = Field(
        min_length=1, max_length=500, examples=["reduce shutdowns from daily to weekly"]
    )
    partners: list[ClientId] = Field(
        min_length=1, max_length=12, description="the client id(s) the goal is for"
    )
    measure: str = Field(min_length=1, max_length=200, examples=["shutdowns", "phq-9"])
    unit: str = Field(min_length=1, max_length=50, examples=["per week"])
    baseline: float
    target: float
    due_on: dt.date
    status: GoalStartStatus = "proposed"


class GoalRevise(Strict):
    description: str | None = Field(None, min_length=1, max_length=500)
    partners: list[ClientId] | None = Field(None, min_length=1, max_length=12)
    measure: str | None = Field(None, min_length=1, max_length=200)
    unit: str | None = Field(None, min_length=1, max_length=50)
    baseline: float | None = None
    target: float | None = None
    due_on: dt.date | None = None


class GoalStatusChange(Strict):
    status: GoalStatus
    reason: str | None = Field(None, max_length=500)


class MeasurementCreate(Strict):
    partner_id: str = Field(min_length=1, max_length=100)
    measure: str | None = Field(
        None,
        max_length=50,
        description="a measure code (phq-9, gad-7, audit-c, csi-4, csi-16, connection, "
        "trust, closeness, fight-duration, repair-time, disconnection-days) or omit with goal_id",
    )
    goal_id: str | None = Field(
        None, max_length=100, description="the goal whose own measure this observes"
    )
    value: float | None = Field(None, description="the value or an instrument's total")
    items: list[int] | None = Field(
        None, max_length=64, description="an instrument's item scores, in order"
    )
    taken_on: dt.date


class CheckIn(Strict):
    partner_id: str = Field(min_length=1, max_length=100)
    mood: float = Field(ge=0, le=10)
    triggers: list[Phrase] = Field(
        default_factory=list, max_length=10, description="triggers since the last joint session"
    )


class SessionCreate(Strict):
    format: SessionFormat
    modality: Modality
    held_on: dt.date
    partner_id: str | None = Field(
        None, max_length=100, description="which partner, for an individual session"
    )
    attendees: list[ClientId] | None = Field(None, max_length=12)
    clinician_id: str | None = Field(None, max_length=100)
    check_ins: list[CheckIn] = Field(default_factory=list, max_length=12)
    focus_issues: list[Phrase] = Field(min_length=1, max_length=2)
    homework: list[Phrase] = Field(default_factory=list, max_length=10)
    sharing_agreement_id: str | None = Field(
        None,
        max_length=100,
        description=(
            "individual sessions in couples work: the couple's agreement in force (consent "
            "service); optional, checked when given, the one in force is stored"
        ),
    )
    share_by: dt.date | None = Field(
        None,
        description=(
            "under a limited-secrets agreement: material from this individual session is held "
            "in confidence until this date (the session's day to 365 days after)"
        ),
    )


class ConfidenceResolution(Strict):
    outcome: Literal["shared", "no-longer-held"] = Field(
        description="shared with the other partner, or no longer held in confidence"
    )
    resolved_on: dt.date


class ReadinessCreate(Strict):
    ready: bool
    criteria: list[Phrase] = Field(min_length=1, max_length=10)
    decided_by: str = Field(min_length=1, max_length=100)
    decided_on: dt.date


class FormatShiftCreate(Strict):
    reason: ShiftReason
    rationale: str = Field(
        min_length=1, max_length=2000, description="restricted: never shown to the other partner"
    )
    about_partner_id: str | None = Field(
        None, max_length=100, description="the partner the reason concerns"
    )
    decided_by: str = Field(min_length=1, max_length=100)
    effective_on: dt.date
    review_on: dt.date
    mix: Mix = Field(examples=[{"joint": 0, "individual": 4}])


class GoalProgress(Strict):
    goal_id: str = Field(max_length=100)
    achievement_status: Achievement
    note: str | None = Field(None, max_length=2000)


class ReviewCreate(Strict):
    held_on: dt.date
    goal_progress: list[GoalProgress] = Field(default_factory=list, max_length=50)
    strategy_changes: list[Phrase] = Field(default_factory=list, max_length=20)
    next_mix: Mix


TeamChangeReason = Literal[
    "intake",
    "caseload-change",
    "clinician-leaving",
    "client-request",
    "specialist-needed",
    "conflict-of-interest",
    "coverage",
    "entered-in-error",
]
ClientIds = Field(
    None, max_length=12, description="for an individual therapist: the client(s) they see alone"
)


class CareTeamAssign(Strict):
    clinician_id: str = Field(min_length=1, max_length=100)
    roles: list[ClinicianRole] = Field(min_length=1, max_length=4)
    clients: list[ClientId] | None = ClientIds
    reason: TeamChangeReason


class CareTeamChange(Strict):
    roles: list[ClinicianRole] = Field(min_length=1, max_length=4)
    clients: list[ClientId] | None = ClientIds
    reason: TeamChangeReason


class CareTeamRemoval(Strict):
    reason: TeamChangeReason


class BreakGlassCreate(Strict):
    justification: str = Field(min_length=1, max_length=2000, description="the emergency")


class BreakGlassReview(Strict):
    finding: Literal["justified", "not-justified", "needs-follow-up"]


class CommandResult(BaseModel):
    """What a write returns: the plan, its new version (also the ETag) and any new id."""

    model_config = ConfigDict(extra="allow")
    plan_id: str
    version: int
