"""Read models of the referral service: one summary row per referral, rebuildable from events.

`ReferralSummaries` is the PostgreSQL read model (`referral.referral_summaries`), kept by
`careledger projections run referral` and, so that a coordinator sees their own changes at
once, caught up by the API before it answers a worklist or metrics query (the runner locks
the projection's tracking row, so the two take turns). `InMemorySummaries` folds the same
events in process, for unit tests and stores without PostgreSQL. The worklist and metrics are
pure functions of the summaries (`worklist.py`, `metrics.py`).
"""

from __future__ import annotations

from typing import Any, ClassVar, LiteralString, Protocol

from psycopg.types.json import Jsonb

from services.common.access_reads import projection_for
from services.common.events import event_name, named_event_classes
from services.common.projection import Cursor, ProjectedEvent, Projection
from services.common.readmodel import CaughtUpProjection, InProcessLog
from services.common.readstore import ReadStore
from services.referral import domain as _domain  # noqa: F401 - names the referral events
from services.referral.summary import (
    ReferralSummary,
    fold,
    summary_from_json,
    summary_to_json,
)

# The referrals' own events: not the plan teams' (domain/plan_team.py) nor the access events.
REFERRAL_EVENTS = tuple(
    sorted(
        topic
        for topic, cls in named_event_classes("referral").items()
        if cls.__qualname__.split(".")[0] == "Referral"
    )
)


class SummarySource(Protocol):
    """Where the application reads referral summaries from."""

    def of_tenant(self, app: Any, tenant: str) -> list[ReferralSummary]: ...


class InMemorySummaries:
    """Summaries folded in process from the application's notification log, incrementally."""

    def __init__(self) -> None:
        self.summaries: dict[str, ReferralSummary] = {}
        self.log = InProcessLog(
            lambda topic, aid, version, state: fold(
                self.summaries, event_name(topic), str(aid), version, state
            ),
            topics=REFERRAL_EVENTS,
        )

    def catch_up(self, app: Any) -> None:
        """Fold every event stored since the last call (the log is in commit order)."""
        self.log.catch_up(app)

    def of_tenant(self, app: Any, tenant: str) -> list[ReferralSummary]:
        self.catch_up(app)
        return [s for s in self.summaries.values() if s.tenant == tenant]


class ReferralSummaries(Projection):
    """`referral.referral_summaries`: one JSON summary per referral, by tenant."""

    name = "referral_summaries"
    schema = "referral"
    tables = ("referral_summaries",)
    topics: ClassVar[tuple[str, ...]] = REFERRAL_EVENTS  # not the access events of the store
    create_sql: ClassVar[tuple[LiteralString, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.referral_summaries ("
        " id uuid PRIMARY KEY, tenant text NOT NULL, data jsonb NOT NULL)",
        "CREATE INDEX IF NOT EXISTS referral_summaries_tenant"
        " ON {schema}.referral_summaries (tenant)",
    )

    def process(self, cursor: Cursor, event: ProjectedEvent) -> None:
        rid = str(event.aggregate_id)
        cursor.execute(
            self.sql("SELECT data FROM {schema}.referral_summaries WHERE id = %s"), (rid,)
        )
        row = cursor.fetchone()
        summaries = {rid: summary_from_json(row["data"])} if row else {}
        fold(summaries, event.name, rid, event.version, event.state)
        if rid not in summaries:
            return
        summary = summaries[rid]
        cursor.execute(
            self.sql(
                "INSERT INTO {schema}.referral_summaries (id, tenant, data) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data"
            ),
            (rid, summary.tenant, Jsonb(summary_to_json(summary))),
        )

    def of_tenant(self, tenant: str) -> list[ReferralSummary]:
        rows = self.query(
            "SELECT data FROM {schema}.referral_summaries WHERE tenant = %s", (tenant,)
        )
        return [summary_from_json(row["data"]) for row in rows]


class PostgresSummaries(CaughtUpProjection[ReferralSummaries]):
    """The PostgreSQL read model, caught up before each read (read-your-writes for the API)."""

    def __init__(
        self, app: Any, store: ReadStore, *, schema: str = ReferralSummaries.schema
    ) -> None:
        super().__init__(ReferralSummaries, app, store, schema=schema)

    def of_tenant(self, app: Any, tenant: str) -> list[ReferralSummary]:
        return self.current().of_tenant(tenant)


PROJECTIONS: list[type[Projection]] = [ReferralSummaries, projection_for("referral")]
