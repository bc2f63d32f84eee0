"""The plan's commands: what a caller asks of a plan, as typed values (imperative names).

The HTTP layer builds one from a request body; `Plan` checks it against its rules and records
the event (past-tense name) that it leads to. Nested entries (members, check-ins, progress) stay
mappings here: their fields are checked, with the field's path, by the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Entry = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class CreatePlan:
    unit_kind: str
    members: Sequence[Entry]
    clinicians: Sequence[Entry]
    mix: Mapping[str, int]
    starts_on: dt.date
    cadence_weeks: int = 4
    review_interval_weeks: int = 4


@dataclass(frozen=True, kw_only=True)
class ChangeStatus:
    status: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChangeSchedule:
    cadence_weeks: int | None = None
    review_interval_weeks: int | None = None
    next_review_on: dt.date | None = None


@dataclass(frozen=True, kw_only=True)
class AddGoal:
    description: str
    partners: Sequence[str]
    measure: str
    unit: str
    baseline: float
    target: float
    due_on: dt.date
    status: str = "proposed"


@dataclass(frozen=True, kw_only=True)
class ReviseGoal:
    """Only the fields given change; at least one must."""

    goal_id: str
    description: str | None = None
    partners: Sequence[str] | None = None
    measure: str | None = None
    unit: str | None = None
    baseline: float | None = None
    target: float | None = None
    due_on: dt.date | None = None


@dataclass(frozen=True, kw_only=True)
class ChangeGoalStatus:
    goal_id: str
    status: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordSession:
    format: str
    modality: str
    held_on: dt.date
    focus_issues: Sequence[str]
    partner_id: str | None = None
    attendees: Sequence[str] | None = None
    clinician_id: str | None = None
    check_ins: Sequence[Entry] = ()
    homework: Sequence[str] = ()
    sharing_agreement_id: str | None = None
    share_by: dt.date | None = None


@dataclass(frozen=True, kw_only=True)
class ResolveConfidence:
    session_id: str
    outcome: str
    resolved_on: dt.date


@dataclass(frozen=True, kw_only=True)
class RecordMeasurement:
    partner_id: str
    taken_on: dt.date
    measure: str | None = None
    value: float | None = None
    items: Sequence[int] | None = None
    goal_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordReadiness:
    ready: bool
    criteria: Sequence[str]
    decided_by: str
    decided_on: dt.date


@dataclass(frozen=True, kw_only=True)
class ShiftFormat:
    reason: str
    rationale: str
    decided_by: str
    effective_on: dt.date
    review_on: dt.date
    mix: Mapping[str, int]
    about_partner_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordReview:
    held_on: dt.date
    next_mix: Mapping[str, int]
    goal_progress: Sequence[Entry] = ()
    strategy_changes: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class AssignClinician:
    clinician_id: str
    roles: Sequence[str]
    reason: str
    clients: Sequence[str] | None = None


@dataclass(frozen=True, kw_only=True)
class ChangeClinicianRoles:
    clinician_id: str
    roles: Sequence[str]
    reason: str
    clients: Sequence[str] | None = None


@dataclass(frozen=True, kw_only=True)
class RemoveClinician:
    clinician_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class BreakGlass:
    """Emergency access for the calling clinician (who is not on the care team)."""

    justification: str


@dataclass(frozen=True, kw_only=True)
class ReviewBreakGlass:
    grant_id: str
    finding: str


@dataclass(frozen=True, kw_only=True)
class NoteReferral:
    """A referral event seen on the plan it serves (a reaction, not a caller's command)."""

    record_id: str
    referral_id: str
    stage: str
    outcome: str | None = None
