"""The treatment plan aggregate: one written plan per client unit (a couple, a family, a person).

Each command method checks its command with a pure rule (over `state.PlanState`), then calls a
private `@event` method that only applies the change: replaying history never re-runs the rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.common.events import published
from services.plan.domain import (
    care_team,
    commands,
    emergency,
    goal_rules,
    lifecycle,
    measure_rules,
    session_rules,
    shift_rules,
)
from services.plan.domain.measures import MEASURES
from services.plan.domain.sharing import AgreementInForce
from services.plan.domain.state import entry_of, hold_and_release, member_ids

# How each event is published (contracts/envelope.md): labels, and what stays off the topic.
_ABOUT_CARE = ("N", "BH")  # ids, statuses, dates of a unit's care
_CLINICAL = ("R", "BH")  # what the clinician recorded of the care itself
_MEASURE = {"measure": MEASURES}  # a goal's own measure name is free text
_SESSION_NOTES = ["focus_issues", "homework", "check_ins[].triggers"]


class Plan(Aggregate):
    """One treatment plan; its events are stored as `careledger.plan.<EventName>`."""

    @classmethod
    def create(cls, *, tenant: str, command: commands.CreatePlan) -> Plan:
        return cls(tenant=tenant, **lifecycle.opened(command))

    @property
    def member_ids(self) -> list[str]:
        return member_ids(self)

    access_clients = member_ids  # the clients an access to this plan concerns (access log)

    def change_status(self, command: commands.ChangeStatus) -> None:
        """Activate, hold, complete, revoke or mark the plan entered-in-error."""
        self._status_changed(**lifecycle.status_change(self, command))

    def change_schedule(self, command: commands.ChangeSchedule) -> None:
        self._schedule_changed(**lifecycle.schedule_change(self, command))

    def add_goal(self, command: commands.AddGoal) -> str:
        """Add a goal; a joint goal added while joint work is paused starts on hold."""
        fields = goal_rules.added(self, command)
        self._goal_added(**fields)
        return str(fields["goal_id"])

    def revise_goal(self, command: commands.ReviseGoal) -> None:
        self._goal_revised(**goal_rules.revised(self, command))

    def change_goal_status(self, command: commands.ChangeGoalStatus) -> None:
        """Move a goal through its lifecycle; a held joint goal waits for joint work to resume."""
        self._goal_status_changed(**goal_rules.status_change(self, command))

    def record_session(
        self, command: commands.RecordSession, agreement: AgreementInForce | None = None
    ) -> str:
        """Record a session (under `agreement`, the one in force if it needs one); its id."""
        fields = session_rules.recorded(self, command, agreement)
        self._session_recorded(**fields)
        return str(fields["session_id"])

    def resolve_confidence(self, command: commands.ResolveConfidence) -> None:
        self._confidence_resolved(**session_rules.confidence_resolved(self, command))

    def record_measurement(self, command: commands.RecordMeasurement) -> tuple[str, list[str]]:
        """Record a measurement; its id and the kinds of the alerts it raised."""
        fields, alerts = measure_rules.recorded(self, command)
        self._measurement_recorded(**fields)
        for alert in alerts:
            self._alert_raised(**alert)
        return str(fields["measurement_id"]), [a["kind"] for a in alerts]

    def record_readiness(self, command: commands.RecordReadiness) -> str:
        """Record whether the criteria to resume joint work are met; the decision's id."""
        fields = shift_rules.readiness(self, command)
        self._readiness_recorded(**fields)
        return str(fields["decision_id"])

    def shift_format(self, command: commands.ShiftFormat) -> str:
        """Shift the session format mix (a pause holds joint goals); the shift's id."""
        fields = shift_rules.shift(self, command)
        self._format_shifted(**fields)
        return str(fields["shift_id"])

    def record_review(self, command: commands.RecordReview) -> str:
        fields = shift_rules.review(self, command)
        self._review_recorded(**fields)
        return str(fields["review_id"])

    def assign_clinician(self, command: commands.AssignClinician) -> None:
        self._clinician_assigned(**care_team.assigned(self, command))

    def change_clinician_roles(self, command: commands.ChangeClinicianRoles) -> None:
        self._clinician_roles_changed(**care_team.roles_changed(self, command))

    def remove_clinician(self, command: commands.RemoveClinician) -> None:
        self._clinician_removed(**care_team.removed(self, command))

    def grant_emergency_access(
        self, command: commands.BreakGlass, *, clinician_id: str, now: dt.datetime
    ) -> dict[str, Any]:
        """Open emergency access for a clinician outside the team; returns the grant."""
        grant = emergency.granted(self, command, clinician_id=clinician_id, now=now)
        self._emergency_access_granted(**grant)
        return grant

    def review_emergency_access(
        self, command: commands.ReviewBreakGlass, *, reviewed_by: str
    ) -> None:
        self._emergency_access_reviewed(
            **emergency.reviewed(self, command, reviewed_by=reviewed_by)
        )

    def note_referral(self, command: commands.NoteReferral) -> bool:
        """Note a referral event on the plan it serves, once per record; False if seen before."""
        fields = lifecycle.referral_note(self, command)
        if fields is not None:
            self._referral_noted(**fields)
        return fields is not None

    @published(labels=_ABOUT_CARE)
    @event("PlanCreated")
    def __init__(
        self,
        *,
        tenant: str,
        unit_kind: str,
        members: list[dict[str, Any]],
        clinicians: list[dict[str, Any]],
        mix: dict[str, int],
        cadence_weeks: int,
        review_interval_weeks: int,
        starts_on: dt.date,
        next_review_on: dt.date,
    ) -> None:
        self.tenant = tenant
        self.unit_kind = unit_kind
        self.members = members
        self.clinicians = clinicians
        self.mix = mix
        self.cadence_weeks = cadence_weeks
        self.review_interval_weeks = review_interval_weeks
        self.starts_on = starts_on
        self.next_review_on = next_review_on
        self.status = "draft"
        self.status_reason: str | None = None
        self.goals: dict[str, dict[str, Any]] = {}
        self.measurements: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self.sessions: list[dict[str, Any]] = []
        self.shifts: list[dict[str, Any]] = []
        self.readiness: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []
        self.referrals: dict[str, dict[str, Any]] = {}
        self.noted_records: set[str] = set()
        self.joint_paused = False
        self.readiness_mark = 0
        self.labels: set[str] = set()
        self.access_grants: list[dict[str, Any]] = []

    @published(labels=_ABOUT_CARE, private=["reason"], version=2)
    @event("PlanStatusChanged")
    def _status_changed(self, from_status: str, status: str, reason: str | None) -> None:
        self.status, self.status_reason = status, reason

    @published(labels=_ABOUT_CARE)
    @event("ScheduleChanged")
    def _schedule_changed(
        self, cadence_weeks: int, review_interval_weeks: int, next_review_on: dt.date
    ) -> None:
        self.cadence_weeks, self.next_review_on = cadence_weeks, next_review_on
        self.review_interval_weeks = review_interval_weeks

    @published(labels=_ABOUT_CARE)
    @event("ClinicianAssigned")
    def _clinician_assigned(
        self, clinician_id: str, roles: list[str], clients: list[str], reason: str
    ) -> None:
        self.clinicians = [*self.clinicians, entry_of(locals(), leave_out=("reason",))]

    @published(labels=_ABOUT_CARE)
    @event("ClinicianRolesChanged")
    def _clinician_roles_changed(
        self, clinician_id: str, roles: list[str], clients: list[str], reason: str
    ) -> None:
        entry = entry_of(locals(), leave_out=("reason",))
        self.clinicians = [
            entry if c["clinician_id"] == clinician_id else c for c in self.clinicians
        ]

    @published(labels=_ABOUT_CARE)
    @event("ClinicianRemoved")
    def _clinician_removed(self, clinician_id: str, reason: str) -> None:
        self.clinicians = [c for c in self.clinicians if c["clinician_id"] != clinician_id]

    @published(labels=["R", "BH"], private=["justification"])
    @event("EmergencyAccessGranted")
    def _emergency_access_granted(
        self,
        grant_id: str,
        clinician_id: str,
        justification: str,
        granted_at: dt.datetime,
        until: dt.datetime,
    ) -> None:
        grant = entry_of(locals(), finding=None)
        self.access_grants = [*self.access_grants, grant]

    @published(labels=["R", "BH"])
    @event("EmergencyAccessReviewed")
    def _emergency_access_reviewed(self, grant_id: str, finding: str, reviewed_by: str) -> None:
        self.access_grants = [
            {**g, "finding": finding, "reviewed_by": reviewed_by}
            if g["grant_id"] == grant_id
            else g
            for g in self.access_grants
        ]

    @published(labels=_CLINICAL, private=["description", "unit"], coded=_MEASURE, version=2)
    @event("GoalAdded")
    def _goal_added(
        self,
        goal_id: str,
        description: str,
        partners: list[str],
        measure: str,
        unit: str,
        baseline: float,
        target: float,
        due_on: dt.date,
        lifecycle_status: str,
        held_status: str | None,
    ) -> None:
        self.goals[goal_id] = entry_of(locals(), achievement_status="in-progress")

    @published(labels=_CLINICAL, private=["description", "unit"], coded=_MEASURE, version=2)
    @event("GoalRevised")
    def _goal_revised(
        self,
        goal_id: str,
        description: str,
        partners: list[str],
        measure: str,
        unit: str,
        baseline: float,
        target: float,
        due_on: dt.date,
    ) -> None:
        self.goals[goal_id].update(entry_of(locals()))

    @published(labels=_ABOUT_CARE, private=["reason"], version=2)
    @event("GoalStatusChanged")
    def _goal_status_changed(
        self, goal_id: str, from_status: str, lifecycle_status: str, reason: str | None
    ) -> None:
        self.goals[goal_id].update(lifecycle_status=lifecycle_status, held_status=None)

    @published(labels=(*_CLINICAL, "PSYTHPN"), private=_SESSION_NOTES, version=3)
    @event("SessionRecorded")
    def _session_recorded(
        self,
        session_id: str,
        format: str,
        modality: str,
        held_on: dt.date,
        partner_id: str | None,
        attendees: list[str],
        clinician_id: str | None,
        check_ins: list[dict[str, Any]],
        focus_issues: list[str],
        homework: list[str],
        sharing_agreement_id: str | None,
        sharing_agreement_version: int | None,
        share_by: dt.date | None,
        security_labels: list[str],
    ) -> None:
        self.sessions.append(entry_of(locals(), confidence=None, leave_out=("security_labels",)))
        self.labels.update(security_labels)

    @published(labels=_CLINICAL, coded=_MEASURE, version=2)
    @event("MeasurementRecorded")
    def _measurement_recorded(
        self,
        measurement_id: str,
        partner_id: str,
        measure: str,
        goal_id: str | None,
        value: float,
        items: list[int] | None,
        taken_on: dt.date,
        interpretation: dict[str, Any],
        security_labels: list[str],
        achievement: dict[str, str],
    ) -> None:
        self.measurements.append(entry_of(locals(), leave_out=("security_labels", "achievement")))
        for goal_id_, status in achievement.items():
            self.goals[goal_id_]["achievement_status"] = status
        self.labels.update(security_labels)

    @published(labels=_CLINICAL)
    @event("AlertRaised")
    def _alert_raised(
        self,
        alert_id: str,
        kind: str,
        partner_id: str,
        measure: str,
        measurement_id: str,
        security_labels: list[str],
    ) -> None:
        self.alerts.append(entry_of(locals(), leave_out=("security_labels",)))
        self.labels.update(security_labels)

    @published(labels=_CLINICAL, private=["criteria"], version=2)
    @event("ReadinessRecorded")
    def _readiness_recorded(
        self,
        decision_id: str,
        ready: bool,
        criteria: list[str],
        decided_by: str,
        decided_on: dt.date,
    ) -> None:
        self.readiness.append(entry_of(locals()))

    @published(labels=_CLINICAL, private=["rationale"], version=2)
    @event("FormatShifted")
    def _format_shifted(
        self,
        shift_id: str,
        reason: str,
        rationale: str,
        about_partner_id: str | None,
        decided_by: str,
        effective_on: dt.date,
        review_on: dt.date,
        mix: dict[str, int],
        pauses_joint: bool,
        resumes_joint: bool,
        held_goals: list[str],
        released_goals: dict[str, str],
        security_labels: list[str],
    ) -> None:
        self.shifts.append(entry_of(locals(), leave_out=("held_goals", "released_goals")))
        self.mix = mix
        hold_and_release(self.goals, held_goals, released_goals)
        if pauses_joint:
            self.joint_paused = True
            self.readiness_mark = len(self.readiness)  # a new pause needs a new decision
        if resumes_joint:
            self.joint_paused = False
        self.labels.update(security_labels)

    @published(labels=_CLINICAL, private=["goal_progress[].note", "strategy_changes"], version=2)
    @event("ReviewRecorded")
    def _review_recorded(
        self,
        review_id: str,
        held_on: dt.date,
        goal_progress: list[dict[str, Any]],
        strategy_changes: list[str],
        next_mix: dict[str, int],
        next_review_on: dt.date,
    ) -> None:
        self.reviews.append(entry_of(locals(), leave_out=("next_review_on",)))
        for entry in goal_progress:
            self.goals[entry["goal_id"]]["achievement_status"] = entry["achievement_status"]
        self.mix = next_mix
        self.next_review_on = next_review_on

    @published(labels=_ABOUT_CARE)
    @event("ConfidenceResolved")
    def _confidence_resolved(self, session_id: str, outcome: str, resolved_on: dt.date) -> None:
        session = next(s for s in self.sessions if s["session_id"] == session_id)
        session["confidence"] = {"outcome": outcome, "resolved_on": resolved_on}

    @published(labels=_ABOUT_CARE)
    @event("ReferralNoted")
    def _referral_noted(
        self, record_id: str, referral_id: str, stage: str, outcome: str | None
    ) -> None:
        self.noted_records.add(record_id)
        entry = self.referrals.setdefault(referral_id, {"referral_id": referral_id})
        entry.update(stage=stage, **({"outcome": outcome} if outcome else {}))
