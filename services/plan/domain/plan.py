"""The treatment plan aggregate: one written plan per client unit (a couple, a family, a person).

The commands (checks first) are in `commands.PlanCommands`; this class holds the state and the
`@event` methods that apply each event, so replaying history never re-runs today's rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.common.events import published
from services.plan.domain.care_team import CareTeamCommands
from services.plan.domain.commands import PlanCommands
from services.plan.domain.emergency import EmergencyAccessCommands
from services.plan.domain.measures import MEASURES

# How each event is published (contracts/envelope.md): labels, and what stays off the topic.
_ABOUT_CARE = ("N", "BH")  # ids, statuses, dates of a unit's care
_CLINICAL = ("R", "BH")  # what the clinician recorded of the care itself
_MEASURE = {"measure": MEASURES}  # a goal's own measure name is free text
_SESSION_NOTES = ["focus_issues", "homework", "check_ins[].triggers"]


class Plan(PlanCommands, CareTeamCommands, EmergencyAccessCommands, Aggregate):
    """One treatment plan; its events are stored as `careledger.plan.<EventName>`."""

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

    @property
    def access_clients(self) -> list[str]:
        """The clients an access to this plan concerns (for the access log)."""
        return [m["client_id"] for m in self.members]

    @published(labels=_ABOUT_CARE, private=["reason"], version=2)
    @event("PlanStatusChanged")
    def _status_changed(self, from_status: str, status: str, reason: str | None) -> None:
        self.status = status
        self.status_reason = reason

    @published(labels=_ABOUT_CARE)
    @event("ScheduleChanged")
    def _schedule_changed(
        self, cadence_weeks: int, review_interval_weeks: int, next_review_on: dt.date
    ) -> None:
        self.cadence_weeks = cadence_weeks
        self.review_interval_weeks = review_interval_weeks
        self.next_review_on = next_review_on

    @published(labels=_ABOUT_CARE)
    @event("ClinicianAssigned")
    def _clinician_assigned(
        self, clinician_id: str, roles: list[str], clients: list[str], reason: str
    ) -> None:
        self.clinicians = [
            *self.clinicians,
            {"clinician_id": clinician_id, "roles": roles, "clients": clients},
        ]

    @published(labels=_ABOUT_CARE)
    @event("ClinicianRolesChanged")
    def _clinician_roles_changed(
        self, clinician_id: str, roles: list[str], clients: list[str], reason: str
    ) -> None:
        self.clinicians = [
            {"clinician_id": clinician_id, "roles": roles, "clients": clients}
            if c["clinician_id"] == clinician_id
            else c
            for c in self.clinicians
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
        self.access_grants = [
            *self.access_grants,
            {
                "grant_id": grant_id,
                "clinician_id": clinician_id,
                "justification": justification,
                "granted_at": granted_at,
                "until": until,
                "finding": None,
            },
        ]

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
        self.goals[goal_id] = {
            "goal_id": goal_id,
            "description": description,
            "partners": partners,
            "measure": measure,
            "unit": unit,
            "baseline": baseline,
            "target": target,
            "due_on": due_on,
            "lifecycle_status": lifecycle_status,
            "held_status": held_status,
            "achievement_status": "in-progress",
        }

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
        self.goals[goal_id].update(
            description=description,
            partners=partners,
            measure=measure,
            unit=unit,
            baseline=baseline,
            target=target,
            due_on=due_on,
        )

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
        self.sessions.append(
            {
                "session_id": session_id,
                "format": format,
                "modality": modality,
                "held_on": held_on,
                "partner_id": partner_id,
                "attendees": attendees,
                "clinician_id": clinician_id,
                "check_ins": check_ins,
                "focus_issues": focus_issues,
                "homework": homework,
                "sharing_agreement_id": sharing_agreement_id,
                "sharing_agreement_version": sharing_agreement_version,
                "share_by": share_by,
                "confidence": None,
            }
        )
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
        self.measurements.append(
            {
                "measurement_id": measurement_id,
                "partner_id": partner_id,
                "measure": measure,
                "goal_id": goal_id,
                "value": value,
                "items": items,
                "taken_on": taken_on,
                "interpretation": interpretation,
            }
        )
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
        self.alerts.append(
            {
                "alert_id": alert_id,
                "kind": kind,
                "partner_id": partner_id,
                "measure": measure,
                "measurement_id": measurement_id,
            }
        )
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
        self.readiness.append(
            {
                "decision_id": decision_id,
                "ready": ready,
                "criteria": criteria,
                "decided_by": decided_by,
                "decided_on": decided_on,
            }
        )

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
        self.shifts.append(
            {
                "shift_id": shift_id,
                "reason": reason,
                "rationale": rationale,
                "about_partner_id": about_partner_id,
                "decided_by": decided_by,
                "effective_on": effective_on,
                "review_on": review_on,
                "mix": mix,
                "pauses_joint": pauses_joint,
                "resumes_joint": resumes_joint,
                "security_labels": security_labels,
            }
        )
        self.mix = mix
        for goal_id in held_goals:
            goal = self.goals[goal_id]
            goal.update(held_status=goal["lifecycle_status"], lifecycle_status="on-hold")
        for goal_id, status in released_goals.items():
            self.goals[goal_id].update(lifecycle_status=status, held_status=None)
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
        self.reviews.append(
            {
                "review_id": review_id,
                "held_on": held_on,
                "goal_progress": goal_progress,
                "strategy_changes": strategy_changes,
                "next_mix": next_mix,
            }
        )
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


def _session_v1_to_v2(state: dict[str, Any]) -> None:
    """A session recorded before the agreement's terms version and share-by dates were kept."""
    state["sharing_agreement_version"] = None
    state["share_by"] = None


Plan.SessionRecorded.class_version = 2  # type: ignore[attr-defined]
Plan.SessionRecorded.upcast_v1_v2 = staticmethod(_session_v1_to_v2)  # type: ignore[attr-defined]
