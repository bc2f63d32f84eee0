"""The referral service's Application: commands (each one lifecycle step) and queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.common.access.consent_gate import ConsentDecision, ConsentGate, DecisionRequest
from services.common.context import CommandContext
from services.common.errors import Conflict
from services.common.readmodels.postgres import PostgresSummaries
from services.common.readmodels.query import Condition, Found, Window
from services.common.readmodels.summaries import InMemorySummaries
from services.common.store.application import CareApplication, check_version
from services.referral.domain import Referral, ServiceLevels, Step
from services.referral.domain.commands import (
    DraftReferral,
    ReviseReferral,
    SendReferral,
    StepCommand,
)
from services.referral.domain.plan_team import PlanTeam
from services.referral.metrics import (
    MetricsRows,
    discharged_in,
    metrics_body,
    referral_metrics,
    sent_in,
    visits_of,
)
from services.referral.metrics_sql import sql_figures
from services.referral.projections import ReferralReadModel, in_memory_summaries
from services.referral.team_rows import TEAMS, TeamReadModel
from services.referral.views import referral_view
from services.referral.worklist import ORDER, WorklistFilter, worklist_item, worklist_where

# The aggregate method of each step other than revise and send (those have their own commands).
_STEP_METHODS: dict[Step, str] = {
    Step.RECEIVE: "receive",
    Step.ACCEPT: "accept",
    Step.DECLINE: "decline",
    Step.SCHEDULE: "schedule",
    Step.RECORD_NO_SHOW: "record_no_show",
    Step.CANCEL_APPOINTMENT: "cancel_appointment",
    Step.RECORD_ATTENDANCE: "record_attendance",
    Step.REQUEST_CANCELLATION: "request_cancellation",
    Step.CONFIRM_CANCELLATION: "confirm_cancellation",
    Step.CANCEL: "cancel",
    Step.FAIL: "fail",
    Step.COMPLETE: "complete",
    Step.MARK_ENTERED_IN_ERROR: "mark_entered_in_error",
}
PURPOSE_OF_USE = "TREAT"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ReferralApplication(CareApplication):
    """Referrals from draft to a closed loop; stored on `referral.referral_events`.

    Built with its summaries and care-teams read models (`projections.py`, `team_rows.py`; in
    memory unless given); the composition root sets `consent_gate` and `service_levels`; tests
    may set `clock`.
    """

    name: ClassVar[str] = "referral"  # type: ignore[misc]

    def __init__(
        self,
        env: Any = None,
        *,
        summaries: ReferralReadModel | None = None,
        teams: TeamReadModel | None = None,
    ) -> None:
        super().__init__(env)
        self.consent_gate: ConsentGate | None = None
        self.service_levels = ServiceLevels()
        self.clock: Callable[[], dt.datetime] = utc_now
        self.summaries: ReferralReadModel = summaries or in_memory_summaries()
        self.teams: TeamReadModel = teams or InMemorySummaries(
            TEAMS
        )  # the care teams, by clinician

    # -- commands ---------------------------------------------------------------------------

    def draft(
        self, *, ctx: CommandContext, referral_id: UUID | None = None, command: DraftReferral
    ) -> tuple[dict[str, Any], bool]:
        """Record a draft; with a known `referral_id` (a retried create) return the existing one.

        Returns the referral's view and whether it was created now.
        """
        if referral_id is not None:
            existing = self._find(referral_id)
            if existing is not None:
                if existing.tenant != ctx.tenant:
                    raise Conflict("this idempotency key was already used for another record")
                return referral_view(existing), False
        referral = Referral.draft(
            id=referral_id or Referral.create_id(), tenant=ctx.tenant, command=command
        )
        self.save_as(ctx, referral)
        return referral_view(referral), True

    def revise(
        self,
        *,
        ctx: CommandContext,
        referral_id: UUID,
        command: ReviseReferral,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Replace the details of a draft."""
        referral = self._load_for_change(ctx, referral_id, expected_version)
        referral.revise(command)
        self.save_as(ctx, referral)
        return referral_view(referral)

    def send(
        self,
        *,
        ctx: CommandContext,
        referral_id: UUID,
        command: SendReferral,
        expected_version: int | None = None,
        token: str | None,
    ) -> dict[str, Any]:
        """Ask for consent and send on PERMIT; record a block and raise 409 otherwise."""
        referral = self._load_for_change(ctx, referral_id, expected_version)
        referral.check_can_send()
        if self.consent_gate is None:
            raise RuntimeError("ReferralApplication.consent_gate is not configured")
        decision = self.consent_gate.decide(self._decision_request(referral), token=token)
        if not decision.permitted:
            missing = missing_consent(referral, decision)
            referral.block_send(
                decision_id=decision.decision_id,
                outcome=decision.outcome,
                missing=missing,
                obligations=decision.obligations,
                at=self.clock(),
            )
            self.save_as(ctx, referral)
            raise Conflict(
                f"the referral was not sent: {missing}",
                decision_id=decision.decision_id,
                outcome=decision.outcome,
                missing_consent=missing,
                version=referral.version,
            )
        referral.send(
            command,
            decision_id=decision.decision_id,
            obligations=decision.obligations,
            levels=self.service_levels,
            at=self.clock(),
        )
        self.save_as(ctx, referral)
        return referral_view(referral)

    def step(
        self,
        *,
        ctx: CommandContext,
        referral_id: UUID,
        command: StepCommand,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Take one lifecycle step other than revise and send (see `_STEP_METHODS`)."""
        referral = self._load_for_change(ctx, referral_id, expected_version)
        getattr(referral, _STEP_METHODS[command.step])(command, at=self.clock())
        self.save_as(ctx, referral)
        return referral_view(referral)

    # -- queries ----------------------------------------------------------------------------

    def get(self, *, tenant: str, referral_id: UUID, version: int | None = None) -> dict[str, Any]:
        """The referral now, or at `version`."""
        return referral_view(self.load(Referral, referral_id, tenant, version=version))

    def referral(self, *, tenant: str, referral_id: UUID, version: int | None = None) -> Referral:
        """The aggregate itself, for the FHIR views only (they map it, never change it)."""
        loaded: Referral = self.load(Referral, referral_id, tenant, version=version)
        return loaded

    def history(self, *, tenant: str, referral_id: UUID) -> list[dict[str, Any]]:
        """Who did what, when and why, for every step of one referral."""
        self.load(Referral, referral_id, tenant)
        return [
            {
                "version": r["version"],
                "event": r["event"],
                "type": r["type"],
                "at": r["timestamp"],
                "actor": {"id": r["meta"].get("actor_id"), "role": r["meta"].get("actor_role")},
                "correlation_id": r["meta"].get("correlation_id"),
                "causation_id": r["meta"].get("causation_id"),
                "note": r["body"].get("note"),
                "body": r["body"],
            }
            for r in self.history_records(referral_id)
        ]

    def worklist(
        self,
        *,
        tenant: str,
        query: WorklistFilter,
        window: Window | None = None,
        cut: Condition | None = None,
    ) -> Found:
        """One page of the referrals needing action that match `query`, longest overdue first;
        only those `cut` keeps (the referrals a caller may read, care_cut.py), if given."""
        now, window = self.clock(), window or Window()
        where = worklist_where(now, query) + ([cut] if cut is not None else [])
        found = self.summaries.page(self, tenant=tenant, where=where, order=ORDER, window=window)
        items = [worklist_item(row, now) for row in found.rows]
        return Found(items, found.total, found.next_cursor)

    def metrics(self, *, tenant: str, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        """Closed-loop metrics of the referrals sent in [start, end) (metrics.py): SQL
        aggregates in PostgreSQL (metrics_sql.py), the rows folded in memory otherwise."""
        if isinstance(self.summaries, PostgresSummaries):
            figures = sql_figures(self.summaries.current(self), tenant, start, end)
            return metrics_body(figures, start, end)

        def read(where: list[Any]) -> list[Any]:
            return [r["data"] for r in self.summaries.rows(self, tenant=tenant, where=where)]

        discharges = read(discharged_in(start, end))
        visits = read(visits_of(s.client_id for s in discharges)) if discharges else []
        return referral_metrics(
            MetricsRows(read(sent_in(start, end)), discharges, visits), start, end
        )

    def exists(self, referral_id: UUID) -> bool:
        return self._find(referral_id) is not None

    def plan_team(self, plan_id: UUID) -> PlanTeam | None:
        """The referral service's copy of a plan's care team (None: none noted yet)."""
        try:
            found: object = self.repository.get(PlanTeam.create_id(plan_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, PlanTeam) else None

    # -- helpers ----------------------------------------------------------------------------

    def _find(self, referral_id: UUID) -> Referral | None:
        try:
            found: object = self.repository.get(referral_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Referral) else None

    def _load_for_change(
        self, ctx: CommandContext, referral_id: UUID, expected_version: int | None
    ) -> Referral:
        referral: Referral = self.load(Referral, referral_id, ctx.tenant)
        check_version(referral.version, expected_version)
        return referral

    @staticmethod
    def _decision_request(referral: Referral) -> DecisionRequest:
        org = referral.organization or {}
        assert referral.client_id is not None  # check_can_send() requires it
        # Name and address go to the decision point: the accounting of the send shows them.
        recipient = {"kind": "organization", "id": str(org.get("id")), "name": org.get("name")}
        if org.get("address"):
            recipient["address"] = org["address"]
        return DecisionRequest(
            person_id=referral.client_id,
            recipient=recipient,
            purpose=PURPOSE_OF_USE,
            categories=list(referral.categories),
            labels=list(referral.security_labels),
        )


def missing_consent(referral: Referral, decision: ConsentDecision) -> str:
    """Which consent is missing, in ids and codes only (safe to show and to log)."""
    org_id = (referral.organization or {}).get("id")
    part2 = "42CFRPart2" in referral.security_labels
    kind = "a Part 2 written consent" if part2 else "an active consent"
    rule = (decision.basis or {}).get("rule")
    if decision.outcome != "DENY":
        answer = "no consent found"
    elif rule:
        answer = f"denied by rule {rule}"
    else:
        answer = "denied by a consent provision"
    return (
        f"{answer} ({decision.outcome}): record {kind} of client {referral.client_id} to disclose "
        f"{', '.join(referral.categories)} ({', '.join(referral.security_labels)}) to organization "
        f"{org_id} for {PURPOSE_OF_USE}, then send again (decision {decision.decision_id})"
    )
