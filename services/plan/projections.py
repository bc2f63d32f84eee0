"""Read models of the plan service: one summary per plan, rebuildable from events.

`PlanSummaries` is the PostgreSQL read model (`plan.plan_summaries`), kept by
`careledger projections run plan` and caught up by the API before it answers a worklist or a
lookup (the runner locks the projection's tracking row, so the two take turns).
`InMemorySummaries` folds the same events in process, for unit tests and stores without
PostgreSQL. The worklists are pure functions of the summaries (`domain/worklists.py`).
"""

from __future__ import annotations

from typing import Any, ClassVar, LiteralString, Protocol

from psycopg.types.json import Jsonb

from contracts.naming import event_name
from services.common.access.reads import projection_for
from services.common.events import named_event_classes
from services.common.readmodels.projection import Cursor, ProjectedEvent, Projection
from services.common.readmodels.readmodel import CaughtUpProjection, InProcessLog
from services.common.readmodels.readstore import ReadStore
from services.plan import domain as _domain  # noqa: F401 - names the plan's events
from services.plan.summary import Summary, fold

PLAN_EVENTS = tuple(sorted(named_event_classes("plan")))


class SummarySource(Protocol):
    """Where the application reads plan summaries from (oldest plan first)."""

    def of_tenant(self, app: Any, tenant: str) -> list[Summary]: ...


class InMemorySummaries:
    """Summaries folded in process from the application's notification log, incrementally."""

    def __init__(self) -> None:
        self.summaries: dict[str, Summary] = {}
        self.log = InProcessLog(
            lambda topic, aid, version, state: fold(
                self.summaries, event_name(topic), str(aid), version, state
            ),
            topics=PLAN_EVENTS,
        )

    def catch_up(self, app: Any) -> None:
        """Fold every event stored since the last call (the log is in commit order)."""
        self.log.catch_up(app)

    def of_tenant(self, app: Any, tenant: str) -> list[Summary]:
        self.catch_up(app)
        return [s for s in self.summaries.values() if s["tenant"] == tenant]


class PlanSummaries(Projection):
    """`plan.plan_summaries`: one JSON summary per plan, by tenant, in creation order."""

    name = "plan_summaries"
    schema = "plan"
    tables = ("plan_summaries",)
    topics: ClassVar[tuple[str, ...]] = PLAN_EVENTS  # not the access events of the same store
    create_sql: ClassVar[tuple[LiteralString, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.plan_summaries ("
        " id uuid PRIMARY KEY, tenant text NOT NULL, created_position bigint NOT NULL,"
        " data jsonb NOT NULL)",
        "CREATE INDEX IF NOT EXISTS plan_summaries_tenant"
        " ON {schema}.plan_summaries (tenant, created_position)",
    )

    def process(self, cursor: Cursor, event: ProjectedEvent) -> None:
        pid = str(event.aggregate_id)
        cursor.execute(self.sql("SELECT data FROM {schema}.plan_summaries WHERE id = %s"), (pid,))
        row = cursor.fetchone()
        summaries = {pid: row["data"]} if row else {}
        fold(summaries, event.name, pid, event.version, event.state)
        if pid not in summaries:
            return
        cursor.execute(
            self.sql(
                "INSERT INTO {schema}.plan_summaries (id, tenant, created_position, data)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data"
            ),
            (pid, summaries[pid]["tenant"], event.position, Jsonb(summaries[pid])),
        )

    def of_tenant(self, tenant: str) -> list[Summary]:
        rows = self.query(
            "SELECT data FROM {schema}.plan_summaries WHERE tenant = %s ORDER BY created_position",
            (tenant,),
        )
        return [dict(row["data"]) for row in rows]


class PostgresSummaries(CaughtUpProjection[PlanSummaries]):
    """The PostgreSQL read model, caught up before each read (read-your-writes for the API)."""

    def __init__(self, app: Any, store: ReadStore, *, schema: str = PlanSummaries.schema) -> None:
        super().__init__(PlanSummaries, app, store, schema=schema)

    def of_tenant(self, app: Any, tenant: str) -> list[Summary]:
        return self.current().of_tenant(tenant)


PROJECTIONS: list[type[Projection]] = [PlanSummaries, projection_for("plan")]
