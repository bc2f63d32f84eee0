"""The plan service's Application: commands on treatment plans and queries that return data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from uuid import UUID

from services.common.context import CommandContext
from services.common.errors import NotFound
from services.common.readmodels.query import Condition, Found, Has, Order, Window
from services.common.store.application import CareApplication, check_version
from services.plan import queries as q
from services.plan.agreements import AgreementCheck, InMemoryAgreements
from services.plan.domain import Plan
from services.plan.domain.care_team import require_team_manager
from services.plan.domain.commands import (
    AddGoal,
    AssignClinician,
    BreakGlass,
    ChangeClinicianRoles,
    ChangeGoalStatus,
    ChangeSchedule,
    ChangeStatus,
    CreatePlan,
    RecordMeasurement,
    RecordReadiness,
    RecordReview,
    RecordSession,
    RemoveClinician,
    ResolveConfidence,
    ReviewBreakGlass,
    ReviseGoal,
    ShiftFormat,
)
from services.plan.domain.policy import Kind, Reader
from services.plan.domain.sharing import confidence_due, needs_agreement
from services.plan.domain.worklists import DEFAULT_STRETCH_WEEKS, review_due, uneven_growth
from services.plan.projections import in_memory
from services.plan.views import history_view, plan_view

Result = dict[str, Any]
Version = int | None  # the version a change expects (If-Match); None: whatever it is now
# Sees every data class: for in-process reads (tests, demo), never for an HTTP caller.
SYSTEM_READER = Reader(Kind.COMPLIANCE, frozenset(), frozenset())


class PlanApplication(CareApplication):
    """Treatment plans: lifecycle, goals, measurements, sessions, format shifts and reviews."""

    name: ClassVar[str] = "plan"  # type: ignore[misc]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # In memory until the composition root sets the PostgreSQL projection (bootstrap.py).
        self.read_model: q.PlanReadModel = in_memory()
        # No agreement is in force until the composition root connects the consent service.
        self.agreements: AgreementCheck = InMemoryAgreements()

    def create_plan(self, *, ctx: CommandContext, command: CreatePlan) -> Result:
        """Open a draft plan for a client unit; returns its id and version."""
        plan = Plan.create(tenant=ctx.tenant, command=command)
        self.save_as(ctx, plan)
        return {"plan_id": str(plan.id), "version": plan.version}

    def change_status(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: ChangeStatus,
        expected_version: Version = None,
    ) -> Result:
        """Activate, hold, complete, revoke or mark entered-in-error."""
        return self._change(ctx, plan_id, expected_version, lambda p: p.change_status(command))

    def change_schedule(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: ChangeSchedule,
        expected_version: Version = None,
    ) -> Result:
        """Change cadence, review interval or next review date (coordinators may)."""
        return self._change(ctx, plan_id, expected_version, lambda p: p.change_schedule(command))

    def add_goal(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: AddGoal,
        expected_version: Version = None,
    ) -> Result:
        """Add a goal; returns its id."""
        return self._change(
            ctx, plan_id, expected_version, lambda p: {"goal_id": p.add_goal(command)}
        )

    def revise_goal(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: ReviseGoal,
        expected_version: Version = None,
    ) -> Result:
        """Revise the fields of a goal that the command gives."""
        return self._change(ctx, plan_id, expected_version, lambda p: p.revise_goal(command))

    def change_goal_status(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: ChangeGoalStatus,
        expected_version: Version = None,
    ) -> Result:
        """Move a goal through its lifecycle."""
        return self._change(ctx, plan_id, expected_version, lambda p: p.change_goal_status(command))

    def record_measurement(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: RecordMeasurement,
        expected_version: Version = None,
    ) -> Result:
        """Record a measurement; returns its id and the kinds of the alerts it raised."""

        def record(plan: Plan) -> Result:
            measurement_id, alerts = plan.record_measurement(command)
            return {"measurement_id": measurement_id, "alerts": alerts}

        return self._change(ctx, plan_id, expected_version, record)

    def record_session(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: RecordSession,
        expected_version: Version = None,
    ) -> Result:
        """Record a session; an individual one in couples work under the agreement in force."""

        def record(plan: Plan) -> Result:
            agreement = None
            if needs_agreement(plan.unit_kind, command.format):
                by, correlation_id = ctx.actor_id, ctx.correlation_id
                agreement = self.agreements.in_force(
                    ctx.tenant, plan.member_ids, on_behalf_of=by, correlation_id=correlation_id
                )
            return {"session_id": plan.record_session(command, agreement)}

        return self._change(ctx, plan_id, expected_version, record)

    def resolve_confidence(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: ResolveConfidence,
        expected_version: Version = None,
    ) -> Result:
        """Mark a confidence held until a share-by date as shared or no longer held."""
        return self._change(ctx, plan_id, expected_version, lambda p: p.resolve_confidence(command))

    def record_readiness(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: RecordReadiness,
        expected_version: Version = None,
    ) -> Result:
        """Record whether the criteria to resume joint work are met; returns the decision id."""
        return self._change(
            ctx, plan_id, expected_version, lambda p: {"decision_id": p.record_readiness(command)}
        )

    def shift_format(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: ShiftFormat,
        expected_version: Version = None,
    ) -> Result:
        """Shift the format mix; returns the shift id."""
        return self._change(
            ctx, plan_id, expected_version, lambda p: {"shift_id": p.shift_format(command)}
        )

    def record_review(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: RecordReview,
        expected_version: Version = None,
    ) -> Result:
        """Record a review; returns its id."""
        return self._change(
            ctx, plan_id, expected_version, lambda p: {"review_id": p.record_review(command)}
        )

    def assign_clinician(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: AssignClinician,
        expected_version: Version = None,
    ) -> Result:
        """Add a clinician to the plan's care team (its lead or a coordinator may)."""
        return self._team_change(
            ctx, plan_id, expected_version, lambda p: p.assign_clinician(command)
        )

    def change_clinician_roles(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: ChangeClinicianRoles,
        expected_version: Version = None,
    ) -> Result:
        """Change a team member's roles and the clients they serve."""
        return self._team_change(
            ctx, plan_id, expected_version, lambda p: p.change_clinician_roles(command)
        )

    def remove_clinician(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: RemoveClinician,
        expected_version: Version = None,
    ) -> Result:
        """Take a clinician off the care team."""
        return self._team_change(
            ctx, plan_id, expected_version, lambda p: p.remove_clinician(command)
        )

    def break_glass(self, *, ctx: CommandContext, plan_id: UUID, command: BreakGlass) -> Result:
        """Emergency access for the calling clinician, who is not on the care team."""
        plan: Plan = self.load(Plan, plan_id, ctx.tenant)
        now = dt.datetime.now(dt.UTC)
        grant = plan.grant_emergency_access(command, clinician_id=ctx.actor_id, now=now)
        self.save_as(ctx, plan)
        granted = {"grant_id": grant["grant_id"], "until": grant["until"]}
        return {"plan_id": str(plan.id), "version": plan.version, **granted}

    def review_break_glass(
        self,
        *,
        ctx: CommandContext,
        plan_id: UUID,
        command: ReviewBreakGlass,
        expected_version: Version = None,
    ) -> Result:
        """Close a break-glass grant's compliance review."""
        return self._change(
            ctx,
            plan_id,
            expected_version,
            lambda p: p.review_emergency_access(command, reviewed_by=ctx.actor_id),
        )

    def open_grants(self, tenant: str) -> list[Result]:
        """Break-glass grants not yet reviewed, oldest first (the compliance review queue)."""
        rows = [
            {"plan_id": s["plan_id"], **g}
            for s in self.summaries(tenant, q.GRANTS_OPEN)
            for g in s.get("open_grants", [])
        ]
        return sorted(rows, key=lambda r: r["granted_at"])

    def _team_change(
        self,
        ctx: CommandContext,
        plan_id: UUID,
        expected_version: int | None,
        command: Callable[[Plan], None],
    ) -> Result:
        def checked(plan: Plan) -> None:
            require_team_manager(plan, ctx.actor_id, ctx.actor_role)
            command(plan)

        return self._change(ctx, plan_id, expected_version, checked)

    def _change(
        self,
        ctx: CommandContext,
        plan_id: UUID,
        expected_version: int | None,
        command: Callable[[Plan], Result | None],
    ) -> Result:
        plan: Plan = self.load(Plan, plan_id, ctx.tenant)
        check_version(plan.version, expected_version)
        extra = command(plan) or {}
        self.save_as(ctx, plan)
        return {"plan_id": str(plan.id), "version": plan.version, **extra}

    # ---- queries -----------------------------------------------------------------------

    def plan(self, plan_id: UUID, tenant: str) -> Plan:
        """The current aggregate (for views in this package: FHIR, reactions)."""
        found: Plan = self.load(Plan, plan_id, tenant)
        return found

    def get_plan(
        self,
        plan_id: UUID,
        *,
        tenant: str,
        version: int | None = None,
        at: dt.datetime | None = None,
        reader: Reader = SYSTEM_READER,
    ) -> Result:
        """The plan now, at a version or as it was at a time, as `reader` may see it.

        For in-process callers (tests, the demo). HTTP reads go through `reads.PlanReads`,
        which places the caller, asks consent and records the access.
        """
        plan = self.plan_at(plan_id, tenant, version=version, at=at)
        return plan_view(plan, reader)

    def plan_at(
        self,
        plan_id: UUID,
        tenant: str,
        *,
        version: int | None = None,
        at: dt.datetime | None = None,
    ) -> Plan:
        if at is not None:
            return self.load_at(Plan, plan_id, tenant, at)  # type: ignore[no-any-return]
        return self.load(Plan, plan_id, tenant, version=version)  # type: ignore[no-any-return]

    def history(
        self, plan_id: UUID, *, tenant: str, reader: Reader = SYSTEM_READER
    ) -> list[Result]:
        """Every event of the plan with who, when and why (as `reader` may see it)."""
        self.load(Plan, plan_id, tenant)
        return [history_view(r, reader) for r in self.history_records(plan_id)]

    def summaries(
        self, tenant: str, where: Sequence[Condition] = (), order: Order = q.CREATED
    ) -> list[dict[str, Any]]:
        """The tenant's plan summaries matching `where`, from the read model (oldest first)."""
        rows = self.read_model.rows(self, tenant=tenant, where=where, order=order)
        return [r["data"] for r in rows]

    def page(self, tenant: str, where: Sequence[Condition], order: Order, window: Window) -> Found:
        """One page of the read model's rows (queries.py: the columns, orders and conditions)."""
        return self.read_model.page(self, tenant=tenant, where=where, order=order, window=window)

    def plan_with_goal(self, goal_id: str, tenant: str) -> Plan:
        """The plan that holds a goal."""
        for row in self.read_model.rows(self, tenant=tenant, where=[Has("goal_ids", goal_id)]):
            return self.plan(UUID(row["id"]), tenant)
        raise NotFound(f"no goal {goal_id}")

    def uneven_growth(
        self, tenant: str, *, today: dt.date, stretch_weeks: int = DEFAULT_STRETCH_WEEKS
    ) -> list[Result]:
        """Plans where only one partner has attended for longer than the stretch."""
        found = self.summaries(tenant, q.uneven_where(today, stretch_weeks), q.UNEVEN)
        return [r for s in found if (r := uneven_growth(s, today, stretch_weeks))]

    def confidences_due(
        self,
        tenant: str,
        *,
        today: dt.date,
        within_days: int = 7,
        clinician_id: str | None = None,
    ) -> list[Result]:
        """Confidences held under limited-secrets whose share-by date is near or past."""
        rows = [
            {"plan_id": s["plan_id"], **row}
            for s in self.summaries(tenant, q.confidences_where(today, within_days))
            for session in s["sessions"]
            if (row := confidence_due(session, today, within_days))
            and clinician_id in (None, row["clinician_id"])
        ]
        return sorted(rows, key=lambda r: (r["share_by"], r["plan_id"]))

    def reviews_due(self, tenant: str, *, today: dt.date, within_days: int = 7) -> list[Result]:
        """Reviews due within `within_days` and overdue ones, earliest first."""
        found = self.summaries(tenant, q.reviews_where(today, within_days), q.REVIEWS)
        return [r for s in found if (r := review_due(s, today, within_days))]
