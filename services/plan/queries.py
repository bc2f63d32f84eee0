"""The plan service's read model in SQL: the summary's typed columns, its indexes, its questions.

`PLAN_SUMMARIES` declares `plan.plan_summaries` (services/common/readmodels): one row per plan
with the columns the plan list and the worklists filter and sort on, the arrays behind the
care-team, membership and goal lookups (GIN indexes, through btree_gin, with the tenant), and
the summary itself as JSON. Each question below is a condition tree that renders as SQL for
PostgreSQL and tests a row in Python for the in-memory variant, so both answer alike:
`listable` is who may see a plan in a list (a client their own plans, compliance,
coordinators and the EHR every plan, a clinician their care teams' plans and those they hold
break-glass access to); the worklists' conditions select exactly the rows the pure functions of
domain/worklists.py and domain/sharing.py turn into worklist items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from services.common.events import named_event_classes
from services.common.readmodels.query import (
    AnyOf,
    Cmp,
    Condition,
    Has,
    Order,
    Row,
    all_of,
    any_of,
    eq,
)
from services.common.readmodels.summaries import Column, Index, SummaryKind, SummaryReadModel
from services.common.viewer import Viewer
from services.plan import domain as _domain  # noqa: F401 - names the plan's events
from services.plan.domain.worklists import WORKING, alone_stretch
from services.plan.summary import Summary, fold

PLAN_EVENTS = tuple(sorted(named_event_classes("plan")))


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def confidence_due_on(summary: Mapping[str, Any]) -> dt.date | None:
    """The earliest share-by date of a confidence still held (sharing.confidence_due's rows)."""
    dates = [
        _day(s["share_by"])
        for s in summary["sessions"]
        if s.get("share_by") and not s.get("resolved")
    ]
    return min((d for d in dates if d is not None), default=None)


def summary_values(summary: Summary) -> dict[str, Any]:
    """The typed columns of a plan's row."""
    stretch = alone_stretch(summary)
    grants = summary.get("open_grants", [])
    return {
        "status": summary["status"],
        "working": summary["status"] in WORKING,
        "created_at": dt.datetime.fromisoformat(summary["created_at"]),
        "members": list(summary["members"]),
        "team": list(summary.get("team", [])),
        "glass": [g["clinician_id"] for g in grants],  # open grants (until is in the JSON)
        "goal_ids": list(summary["goal_ids"]),
        "next_review_on": _day(summary["next_review_on"]),
        "alone_partner": stretch["partner_id"] if stretch else None,
        "alone_since": stretch["since"] if stretch else None,
        "confidence_due_on": confidence_due_on(summary),
        "grants_open": bool(grants),
    }


PLAN_SUMMARIES: SummaryKind[Summary] = SummaryKind(
    name="plan_summaries",
    schema="plan",
    table="plan_summaries",
    topics=PLAN_EVENTS,  # not the access events of the same store
    fold=fold,
    columns=(
        Column("status", "text"),
        Column("working", "boolean"),
        Column("created_at", "timestamptz"),
        Column("members", "text[]"),
        Column("team", "text[]"),
        Column("glass", "text[]"),
        Column("goal_ids", "text[]"),
        Column("next_review_on", "date"),
        Column("alone_partner", "text"),
        Column("alone_since", "date"),
        Column("confidence_due_on", "date"),
        Column("grants_open", "boolean"),
    ),
    values=summary_values,
    tenant_of=lambda s: str(s["tenant"]),
    to_json=dict,
    from_json=dict,
    indexes=(
        Index(("tenant", "created_at", "id")),  # the plan list, in its order
        Index(("tenant", "team"), method="gin"),  # a clinician's care teams
        Index(("tenant", "glass"), method="gin"),  # their break-glass plans
        Index(("tenant", "members"), method="gin"),  # a client's plans, ?subject=
        Index(("tenant", "goal_ids"), method="gin"),  # the plan of a goal
        Index(("tenant", "working", "next_review_on", "created_at", "id")),  # reviews due
        Index(("tenant", "working", "alone_since", "created_at", "id")),  # uneven growth
        Index(("tenant", "working", "confidence_due_on")),  # confidences due
        Index(("tenant", "grants_open", "created_at")),  # the break-glass review queue
    ),
)
PlanReadModel = SummaryReadModel[Summary]

CREATED = Order(("created_at", "id"))  # the plan list: oldest plan first
REVIEWS = Order(("next_review_on", "created_at", "id"))  # earliest due first
UNEVEN = Order(("alone_since", "created_at", "id"))  # alone the longest first


@dataclass(frozen=True)
class GrantInForce:
    """The plan holds an open break-glass grant of `clinician_id` that lasts past `now`."""

    clinician_id: str
    now: dt.datetime

    def clause(self) -> tuple[sql.Composable, list[Any]]:
        return sql.SQL(
            "EXISTS (SELECT 1 FROM jsonb_array_elements(data->'open_grants') AS g"
            " WHERE g->>'clinician_id' = %s AND (g->>'until')::timestamptz > %s)"
        ), [self.clinician_id, self.now]

    def test(self, row: Row) -> bool:
        return any(
            g["clinician_id"] == self.clinician_id
            and dt.datetime.fromisoformat(g["until"]) > self.now
            for g in row["data"].get("open_grants", [])
        )


NOTHING = AnyOf(())


def listable(viewer: Viewer, now: dt.datetime) -> Condition:
    """The plans a list shows this caller (a plan's own read policy still cuts what they see)."""
    if viewer.is_client:
        return Has("members", viewer.patient) if viewer.patient else NOTHING
    if viewer.has("compliance") or viewer.has("coordinator") or viewer.has("integration"):
        return all_of()
    return any_of(
        Has("team", viewer.sub),
        all_of(Has("glass", viewer.sub), GrantInForce(viewer.sub, now)),
    )


def plans_where(subject: str | None) -> list[Condition]:
    return [] if subject is None else [Has("members", subject)]


def reviews_where(today: dt.date, within_days: int) -> list[Condition]:
    """What `worklists.review_due` answers for: a worked plan due by today + within_days."""
    return [
        eq("working", True),
        Cmp("next_review_on", "<=", today + dt.timedelta(days=within_days)),
    ]


def uneven_where(today: dt.date, stretch_weeks: int) -> list[Condition]:
    """What `worklists.uneven_growth` answers for: one partner alone for over the stretch."""
    return [
        eq("working", True),
        Cmp("alone_since", "<", today - dt.timedelta(weeks=stretch_weeks)),
    ]


def confidences_where(today: dt.date, within_days: int) -> list[Condition]:
    """Plans holding a confidence `sharing.confidence_due` answers for (one row a session)."""
    return [
        eq("working", True),
        Cmp("confidence_due_on", "<=", today + dt.timedelta(days=within_days)),
    ]


GRANTS_OPEN: list[Condition] = [eq("grants_open", True)]
