"""The plan's commands: check the rule, then trigger the event that `Plan` applies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

from services.common.errors import Conflict, InvalidTransition, NotFound, RuleBroken
from services.plan.domain import checks, rules, sharing
from services.plan.domain.formats import FORMATS_BY_UNIT, check_mix, one_of
from services.plan.domain.goals import (
    GOAL_HOLDABLE,
    GOAL_OPEN,
    GOAL_START_STATUSES,
    GOAL_TRANSITIONS,
    PLAN_OPEN,
    PLAN_TRANSITIONS,
)
from services.plan.domain.measures import MEASURES, check_in_range

REFERRAL_STAGES = ("sent", "accepted", "completed")
PAUSED_GOALS = "joint work is paused, so joint goals stay on hold"
_Apply = Callable[..., None]


def new_id() -> str:
    return str(uuid4())


class PlanCommands:
    """The public methods of `Plan`; state and event methods are declared here for typing."""

    id: UUID
    version: int
    tenant: str
    unit_kind: str
    members: list[dict[str, Any]]
    clinicians: list[dict[str, Any]]
    mix: dict[str, int]
    cadence_weeks: int
    review_interval_weeks: int
    next_review_on: dt.date
    status: str
    goals: dict[str, dict[str, Any]]
    measurements: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    shifts: list[dict[str, Any]]
    readiness: list[dict[str, Any]]
    readiness_mark: int
    reviews: list[dict[str, Any]]
    referrals: dict[str, dict[str, Any]]
    noted_records: set[str]
    joint_paused: bool
    labels: set[str]
    _status_changed: _Apply
    _schedule_changed: _Apply
    _goal_added: _Apply
    _goal_revised: _Apply
    _goal_status_changed: _Apply
    _session_recorded: _Apply
    _measurement_recorded: _Apply
    _alert_raised: _Apply
    _readiness_recorded: _Apply
    _format_shifted: _Apply
    _review_recorded: _Apply
    _referral_noted: _Apply
    _confidence_resolved: _Apply

    @classmethod
    def create(
        cls,
        *,
        tenant: str,
        unit_kind: str,
        members: Sequence[Mapping[str, Any]],
        clinicians: Sequence[Mapping[str, Any]],
        mix: Mapping[str, int],
        cadence_weeks: int = 4,
        review_interval_weeks: int = 4,
        starts_on: dt.date,
    ) -> Any:
        """Open a draft plan for a client unit."""
        checked_members = checks.members(unit_kind, members)
        checked_clinicians = checks.clinicians(unit_kind, clinicians)
        checks.weeks(cadence_weeks, "cadence_weeks", 12)
        checks.weeks(review_interval_weeks, "review_interval_weeks", 26)
        build: Callable[..., Any] = cls  # `Plan.__init__` takes these (event PlanCreated)
        return build(
            tenant=tenant,
            unit_kind=unit_kind,
            members=checked_members,
            clinicians=checked_clinicians,
            mix=check_mix(unit_kind, mix),
            cadence_weeks=cadence_weeks,
            review_interval_weeks=review_interval_weeks,
            starts_on=starts_on,
            next_review_on=starts_on + dt.timedelta(weeks=review_interval_weeks),
        )

    @property
    def member_ids(self) -> list[str]:
        return [m["client_id"] for m in self.members]

    def member(self, client_id: str | None, field_name: str) -> str:
        if client_id not in self.member_ids:
            raise RuleBroken(
                "not a member of this plan",
                {field_name: f"give one of the plan's client ids: {', '.join(self.member_ids)}"},
            )
        return str(client_id)

    def clinician(self, clinician_id: str, field_name: str) -> str:
        if clinician_id not in {c["clinician_id"] for c in self.clinicians}:
            raise RuleBroken("not a clinician of this plan", {field_name: "name a plan clinician"})
        return clinician_id

    def formats(self) -> tuple[str, ...]:
        return FORMATS_BY_UNIT[self.unit_kind]

    def require_open(self) -> None:
        if self.status not in PLAN_OPEN:
            raise Conflict(f"the plan is {self.status}; a closed plan takes no changes")

    def require_active(self, what: str) -> None:
        if self.status != "active":
            raise Conflict(f"the plan is {self.status}; {what} needs an active plan: activate it")

    def change_status(self, to: str, *, reason: str | None = None) -> None:
        """Activate, hold, complete, revoke or mark the plan entered-in-error."""
        allowed = PLAN_TRANSITIONS.get(self.status, frozenset())
        if to not in allowed:
            raise InvalidTransition("the plan", self.status, to, allowed)
        self._status_changed(
            from_status=self.status,
            status=to,
            reason=checks.text(reason, "reason", limit=500) if reason else None,
        )

    def change_schedule(
        self,
        *,
        cadence_weeks: int | None = None,
        review_interval_weeks: int | None = None,
        next_review_on: dt.date | None = None,
    ) -> None:
        """Change the cadence, the review interval or the next review date (scheduling)."""
        self.require_open()
        cadence = self.cadence_weeks if cadence_weeks is None else cadence_weeks
        interval = (
            self.review_interval_weeks if review_interval_weeks is None else (review_interval_weeks)
        )
        checks.weeks(cadence, "cadence_weeks", 12)
        checks.weeks(interval, "review_interval_weeks", 26)
        due = next_review_on or self.next_review_on
        if (cadence, interval, due) == (
            self.cadence_weeks,
            self.review_interval_weeks,
            self.next_review_on,
        ):
            raise RuleBroken("nothing to change", {"body": "change at least one schedule field"})
        self._schedule_changed(
            cadence_weeks=cadence, review_interval_weeks=interval, next_review_on=due
        )

    def add_goal(
        self,
        *,
        description: str,
        partners: Sequence[str],
        measure: str,
        unit: str,
        baseline: float,
        target: float,
        due_on: dt.date,
        status: str = "proposed",
    ) -> str:
        """Add a goal; a joint goal added while joint work is paused starts on hold."""
        self.require_open()
        goal = self._checked_goal(description, partners, measure, unit, baseline, target)
        if status not in GOAL_START_STATUSES:
            raise RuleBroken(
                "bad start status", {"status": f"use {', '.join(GOAL_START_STATUSES)}"}
            )
        held = self.joint_paused and len(goal["partners"]) > 1
        goal_id = new_id()
        self._goal_added(
            goal_id=goal_id,
            **goal,
            due_on=due_on,
            lifecycle_status="on-hold" if held else status,
            held_status=status if held else None,
        )
        return goal_id

    def _checked_goal(
        self,
        description: str,
        partners: Sequence[str],
        measure: str,
        unit: str,
        baseline: float,
        target: float,
    ) -> dict[str, Any]:
        if not partners:
            raise RuleBroken("no partner", {"partners": "name the partner(s) the goal is for"})
        checked_partners = [self.member(p, f"partners[{i}]") for i, p in enumerate(partners)]
        measure = checks.text(measure, "measure", limit=200)
        base, goal_target = checks.number(baseline, "baseline"), checks.number(target, "target")
        if base == goal_target:
            raise RuleBroken("no change to reach", {"target": "must differ from the baseline"})
        if measure in MEASURES:
            check_in_range(measure, base, "baseline")
            check_in_range(measure, goal_target, "target")
        return {
            "description": checks.text(description, "description", limit=500),
            "partners": list(dict.fromkeys(checked_partners)),
            "measure": measure,
            "unit": checks.text(unit, "unit", limit=50),
            "baseline": base,
            "target": goal_target,
        }

    def goal(self, goal_id: str) -> dict[str, Any]:
        try:
            return self.goals[goal_id]
        except KeyError:
            raise NotFound(f"no goal {goal_id} in plan {self.id}") from None

    def revise_goal(self, goal_id: str, *, due_on: dt.date | None = None, **changes: Any) -> None:
        """Revise a goal's description, partners, measure, unit, baseline, target or due date."""
        self.require_open()
        current = self.goal(goal_id)
        if current["lifecycle_status"] not in GOAL_OPEN:
            raise Conflict(f"goal {goal_id} is {current['lifecycle_status']} and takes no changes")
        unknown = set(changes) - {
            "description",
            "partners",
            "measure",
            "unit",
            "baseline",
            "target",
        }
        if unknown:
            raise RuleBroken("unknown goal field", dict.fromkeys(unknown, "not a goal field"))
        merged = {
            k: current[k]
            for k in ("description", "partners", "measure", "unit", "baseline", "target")
        }
        merged.update({k: v for k, v in changes.items() if v is not None})
        checked = self._checked_goal(**merged)
        if checked == {k: current[k] for k in checked} and due_on in (None, current["due_on"]):
            raise RuleBroken("nothing to revise", {"body": "change at least one goal field"})
        becomes_joint = len(checked["partners"]) > 1 and len(current["partners"]) == 1
        if self.joint_paused and becomes_joint and current["lifecycle_status"] in GOAL_HOLDABLE:
            raise Conflict(f"{PAUSED_GOALS}: put the goal on hold before making it joint")
        self._goal_revised(goal_id=goal_id, **checked, due_on=due_on or current["due_on"])

    def change_goal_status(self, goal_id: str, to: str, *, reason: str | None = None) -> None:
        """Move a goal through its lifecycle; a held joint goal waits for joint work to resume."""
        self.require_open()
        current = self.goal(goal_id)["lifecycle_status"]
        allowed = GOAL_TRANSITIONS[current]
        if to not in allowed:
            raise InvalidTransition("the goal", current, to, allowed)
        goal = self.goals[goal_id]
        if self.joint_paused and len(goal["partners"]) > 1 and to in GOAL_HOLDABLE:
            raise Conflict(
                f"{PAUSED_GOALS}: record a readiness decision and a 'ready-to-resume' "
                "format shift first"
            )
        self._goal_status_changed(
            goal_id=goal_id,
            from_status=current,
            lifecycle_status=to,
            reason=checks.text(reason, "reason", limit=500) if reason else None,
        )

    def record_session(self, **command: Any) -> str:
        """Record a session (see `rules.session`); returns its id."""
        fields = rules.session(self, **command)
        self._session_recorded(**fields, security_labels=["PSY"])
        return str(fields["session_id"])

    def resolve_confidence(self, *, session_id: str, outcome: str, resolved_on: dt.date) -> None:
        """A confidence held until a share-by date was shared, or is no longer held."""
        self.require_open()
        session = next((s for s in self.sessions if s["session_id"] == session_id), None)
        if session is None:
            raise NotFound(f"no session {session_id} in plan {self.id}")
        if session.get("share_by") is None:
            raise Conflict(f"session {session_id} holds nothing in confidence")
        if session.get("confidence") is not None:
            raise Conflict(f"the confidence of session {session_id} is already resolved")
        one_of(outcome, sharing.RESOLUTIONS, "outcome")
        if resolved_on < session["held_on"]:
            raise RuleBroken(
                "resolved before the session", {"resolved_on": "the session's day or later"}
            )
        self._confidence_resolved(session_id=session_id, outcome=outcome, resolved_on=resolved_on)

    def record_measurement(self, **command: Any) -> tuple[str, list[dict[str, Any]]]:
        """Record a measurement (see `rules.measurement`); returns its id and raised alerts."""
        fields, alerts = rules.measurement(self, **command)
        self._measurement_recorded(**fields)
        for alert in alerts:
            self._alert_raised(**alert)
        return str(fields["measurement_id"]), alerts

    def record_readiness(self, **command: Any) -> str:
        """Record whether the criteria to resume joint work are met."""
        fields = rules.readiness(self, **command)
        self._readiness_recorded(**fields)
        return str(fields["decision_id"])

    def shift_format(self, **command: Any) -> str:
        """Shift the session format mix (see `rules.shift`); returns the shift id."""
        fields = rules.shift(self, **command)
        self._format_shifted(**fields)
        return str(fields["shift_id"])

    def record_review(self, **command: Any) -> str:
        """Record a review (see `rules.review`); returns its id."""
        fields = rules.review(self, **command)
        self._review_recorded(**fields)
        return str(fields["review_id"])

    def note_referral(
        self, *, record_id: str, referral_id: str, stage: str, outcome: str | None
    ) -> bool:
        """Note a referral event on the plan it serves, once per record; False if seen before."""
        if record_id in self.noted_records:
            return False
        one_of(stage, REFERRAL_STAGES, "stage")
        self._referral_noted(
            record_id=record_id, referral_id=referral_id, stage=stage, outcome=outcome
        )
        return True
