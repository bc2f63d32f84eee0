"""Every read of the plan service, in one place: load, place the caller, ask consent, cut, log.

Routes call only `PlanReads`. For each plan a read touches, `placed` finds where the caller
stands (domain/policy.py), asks the consent service about the other partners' individual
material when the policy needs a PERMIT, and refuses a plan the caller may not read at all
(403, or left out of a list). Views are built from what the policy lets through
(views.py, fhir.py), and the access event is committed before the data is returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from services.common.access.consent_gate import ConsentGate, DecisionRequest
from services.common.access.log import AccessLog, Request
from services.common.auth.service_identity import ServiceCredential
from services.common.errors import Forbidden, NotFound
from services.common.readmodels.paging import page_body
from services.common.readmodels.query import Condition, Found, In, Order, Window
from services.common.viewer import Access, Touched, Viewer
from services.plan import fhir
from services.plan import queries as q
from services.plan.application import PlanApplication
from services.plan.domain import Plan
from services.plan.domain import policy as p
from services.plan.views import history_view, plan_view

T = TypeVar("T")
CATEGORIES = ["individual-session"]  # the consent category of a partner's individual material


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PlanReads:
    """The plan service's queries as one caller may see them, each one logged."""

    def __init__(
        self,
        app: PlanApplication,
        log: AccessLog,
        gate: ConsentGate,
        credential: ServiceCredential,
        clock: Callable[[], dt.datetime] = now,
    ) -> None:
        self.app = app
        self.log = log
        self.gate = gate
        self.credential = credential  # the plan service's own, for the consent questions
        self.clock = clock

    # ---- the policy, once per plan ---------------------------------------------------------

    def placed(self, asked: Request, plan: Plan) -> p.Reader:
        """The caller against this plan, with the consent service's permits when needed."""
        viewer = _viewer(asked)
        reader = p.reader_of(viewer, plan, self.clock())
        others = [o for o in p.needs_consent(reader, plan) if _has_material(plan, o)]
        if not others:
            return reader
        recipient = _recipient(viewer, reader)
        permitted = [o for o in others if self._permits(asked, o, recipient)]
        return reader.with_permits(permitted)

    def _permits(self, asked: Request, owner: str, recipient: dict[str, Any]) -> bool:
        """Asked with the plan service's own credential, for this reader, in this read's flow."""
        viewer = _viewer(asked)
        request = DecisionRequest(
            person_id=owner,
            recipient=recipient,
            purpose=viewer.purpose,
            categories=CATEGORIES,
            labels=["PSY"],
            context={"individual_session": True},
        )
        decision = self.gate.decide(
            request,
            token=self.credential.token_for(viewer.tenant),
            on_behalf_of=viewer.sub,
            correlation_id=asked.correlation_id or None,
        )
        return decision.permitted

    def _readable(self, asked: Request, plan: Plan, reader: p.Reader) -> None:
        if p.may_read_plan(reader):
            return
        refused = Forbidden(
            f"you are not on the care team of plan {plan.id}: in an emergency, open "
            f"break-glass access with POST /plans/{plan.id}/break-glass and a justification"
        )
        refused.audit = _touched(plan, reader, "CarePlan")
        raise refused

    def _viewer_may(self, viewer: Viewer, resource_type: str) -> None:
        if not viewer.may_read(resource_type):
            raise Forbidden(f"the token's scopes do not grant reading {resource_type}")

    # ---- one plan --------------------------------------------------------------------------

    def one(
        self,
        asked: Request,
        load: Callable[[], Plan],
        render: Callable[[Plan, p.Reader], T],
        resource_type: str = "CarePlan",
    ) -> T:
        """Load one plan, check and cut it for the caller, log the read, then return it."""
        viewer = _viewer(asked)
        self._viewer_may(viewer, resource_type)
        plan = load()
        reader = self.placed(asked, plan)
        self._readable(asked, plan, reader)
        shown = render(plan, reader)
        self.log.record(asked, _touched(plan, reader, resource_type))
        return shown

    def plan(
        self, asked: Request, plan_id: UUID, *, version: int | None, at: dt.datetime | None
    ) -> dict[str, Any]:
        tenant = _viewer(asked).tenant
        return self.one(
            asked,
            lambda: self.app.plan_at(plan_id, tenant, version=version, at=at),
            plan_view,
        )

    def history(self, asked: Request, plan_id: UUID) -> list[dict[str, Any]]:
        tenant = _viewer(asked).tenant
        records = self.app.history_records(plan_id)

        def render(plan: Plan, reader: p.Reader) -> list[dict[str, Any]]:
            return [history_view(r, reader) for r in records]

        return self.one(asked, lambda: self.app.plan(plan_id, tenant), render)

    def care_plan(
        self, asked: Request, plan_id: UUID, version: int | None = None
    ) -> tuple[dict[str, Any], int]:
        tenant = _viewer(asked).tenant
        return self.one(
            asked,
            lambda: self.app.plan_at(plan_id, tenant, version=version),
            lambda plan, reader: (fhir.care_plan(plan, reader), plan.version),
        )

    def goal(self, asked: Request, goal_id: str) -> tuple[dict[str, Any], int]:
        tenant = _viewer(asked).tenant
        return self.one(
            asked,
            lambda: self.app.plan_with_goal(goal_id, tenant),
            lambda plan, reader: (fhir.goal(plan, goal_id, reader), plan.version),
            "Goal",
        )

    # ---- many plans ------------------------------------------------------------------------

    def many(
        self,
        asked: Request,
        *,
        subject: str | None,
        window: Window,
        render: Callable[[Plan, p.Reader], T],
        resource_type: str = "CarePlan",
    ) -> tuple[list[T], Found]:
        """A page of the plans this caller may read (others are left out, and not counted).

        The read model filters, orders and pages them in SQL (queries.listable); each plan of
        the page is then loaded and cut by its own read policy.
        """
        viewer = _viewer(asked)
        self._viewer_may(viewer, resource_type)
        where = [*q.plans_where(subject), q.listable(viewer, self.clock())]
        found = self.app.page(viewer.tenant, where, q.CREATED, window)
        shown: list[tuple[Plan, p.Reader, T]] = []
        for row in found.rows:
            plan = self._plan_of(row, viewer.tenant)
            reader = self.placed(asked, plan)
            if p.may_read_plan(reader):
                shown.append((plan, reader, render(plan, reader)))
        touched = Touched(
            resource_type,
            [(str(plan.id), plan.version) for plan, _, _ in shown],
            {c for plan, _, _ in shown for c in plan.access_clients},
            view=_worst([r for _, r, _ in shown]),
        )
        self.log.record(asked, touched)
        return [view for _, _, view in shown], found

    def _plan_of(self, row: dict[str, Any], tenant: str) -> Plan:
        """The plan of a list row: the cached aggregate when it is at the row's version (the
        read model was caught up for this read), shared as read-only readers share it; else
        loaded. A page of plans then costs no store query per plan."""
        cache = getattr(self.app.repository, "current", None)
        try:
            held = cache.get(UUID(row["id"])) if cache is not None else None
        except KeyError:
            held = None
        if isinstance(held, Plan) and (held.version, held.tenant) == (
            row["data"]["version"],
            tenant,
        ):
            return held
        return self.app.plan(UUID(row["id"]), tenant)

    def worklist_page(
        self,
        asked: Request,
        where: Sequence[Condition],
        order: Order,
        window: Window,
        item: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> dict[str, Any]:
        """A worklist paged in SQL over the plans this caller may list, logged as one read."""
        viewer = _viewer(asked)
        listed = q.listable(viewer, self.clock())
        found = self.app.page(viewer.tenant, [*where, listed], order, window)
        self._log_rows(asked, found.rows)
        items = [shown for r in found.rows if (shown := item(r["data"])) is not None]
        return page_body(window, found, items)

    def worklist(self, asked: Request, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Worklist rows of the plans this caller may read at all, logged as one read."""
        viewer = _viewer(asked)
        ids = tuple({r["plan_id"] for r in rows})
        listed = q.listable(viewer, self.clock())
        summaries = self.app.read_model.rows(self.app, tenant=viewer.tenant, where=[In("id", ids)])
        by_id = {s["id"]: s for s in summaries if listed.test(s)}
        kept = [r for r in rows if r["plan_id"] in by_id]
        self._log_rows(asked, [by_id[i] for i in dict.fromkeys(r["plan_id"] for r in kept)])
        return kept

    def _log_rows(self, asked: Request, rows: Sequence[dict[str, Any]]) -> None:
        clients = {c for r in rows for c in r["data"]["members"]}
        records = [(r["id"], r["data"]["version"]) for r in rows]
        self.log.record(asked, Touched("CarePlan", records, clients, view="redacted"))


def _viewer(asked: Request) -> Viewer:
    if asked.viewer is None:
        raise NotFound("no caller")  # routes always authenticate first
    return asked.viewer


def _recipient(viewer: Viewer, reader: p.Reader) -> dict[str, Any]:
    """Who would receive the other partner's material: a partner, or this clinician."""
    if viewer.is_client or reader.narrowed_to is not None:
        return {"kind": "partner", "id": viewer.reads_for}
    return {"kind": "provider", "id": viewer.sub}


def _has_material(plan: Plan, owner: str) -> bool:
    return (
        any(s["format"] == "individual" and s["partner_id"] == owner for s in plan.sessions)
        or any(m["partner_id"] == owner for m in plan.measurements)
        or any(s.get("about_partner_id") == owner for s in plan.shifts)
    )


def _worst(readers: Sequence[p.Reader]) -> str | None:
    if not readers:
        return None
    full = all(p.plan_frame(r) is Access.FULL and _sees_all(r) for r in readers)
    return "full" if full else "redacted"


def _sees_all(reader: p.Reader) -> bool:
    return reader.kind in (p.Kind.LEAD, p.Kind.COMPLIANCE, p.Kind.BREAK_GLASS) and (
        reader.narrowed_to is None
    )


def _touched(plan: Plan, reader: p.Reader, resource_type: str) -> Touched:
    return Touched(
        resource_type,
        [(str(plan.id), plan.version)],
        plan.access_clients,
        view=("full" if _sees_all(reader) else "redacted") if p.may_read_plan(reader) else None,
        break_glass=reader.kind is p.Kind.BREAK_GLASS,
        tenant=plan.tenant,
    )
