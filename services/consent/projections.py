"""The compliance read model: every decision, with its break-glass review, rebuildable from events.

`ComplianceDecisions` is the PostgreSQL read model (`consent.compliance_decisions`), kept by
`careledger projections run consent` and caught up by the API before it answers (read-your-
writes; the runner locks the projection's tracking row, so the two take turns). It serves the
list of denials and break-glass decisions for a period and the compliance review queue.
`InMemoryDecisions` folds the same events in process, for unit tests. Both use `fold`.

The accounting of disclosures needs no projection: each person's `PersonFile` (saved in the same
transaction as each disclosure) lists their disclosures exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, LiteralString, Protocol
from uuid import UUID

from psycopg.types.json import Jsonb

from contracts.records import to_json_value
from services.common.access_reads import projection_for
from services.common.readmodels.projection import Cursor, ProjectedEvent, Projection
from services.common.readmodels.readmodel import CaughtUpProjection, InProcessLog
from services.common.readmodels.readstore import ReadStore

DECISION_RECORDED = "careledger.consent.DecisionRecorded"
REVIEW_CLOSED = "careledger.consent.BreakGlassReviewClosed"
TOPICS = (DECISION_RECORDED, REVIEW_CLOSED)


def fold(
    row: dict[str, Any] | None, topic: str, aggregate_id: str, state: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The decision row after one of its events (None for an event of an unknown decision)."""
    if topic == DECISION_RECORDED:
        fields = (
            "tenant",
            "person_id",
            "actor_id",
            "recipient",
            "purpose",
            "categories",
            "labels",
            "decided_at",
            "outcome",
            "basis",
            "obligations",
            "break_glass",
            "carve_out",
            "review_required",
        )
        return {"decision_id": aggregate_id, **{f: state[f] for f in fields}, "review": None}
    if row is None:
        return None
    review = {k: state[k] for k in ("finding", "reviewer_id", "note")}
    return {**row, "review": {**review, "closed_at": state["timestamp"]}}


def matches(row: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """Whether a decision row passes the list filters (outcome, break_glass, person, period)."""
    if filters.get("outcome") is not None and row["outcome"] != filters["outcome"]:
        return False
    for key in ("break_glass", "carve_out"):
        wanted = filters.get(key)
        if wanted is not None and (row.get(key) is not None) != wanted:
            return False
    if filters.get("person_id") is not None and row["person_id"] != filters["person_id"]:
        return False
    if filters.get("start") is not None and row["decided_at"] < filters["start"]:
        return False
    return not (filters.get("end") is not None and row["decided_at"] >= filters["end"])


class DecisionSource(Protocol):
    """Where the application reads decision rows from."""

    def of_tenant(self, app: Any, tenant: str) -> list[dict[str, Any]]: ...


class InMemoryDecisions:
    """Decision rows folded in process from the notification log, incrementally."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.log = InProcessLog(self._apply, topics=TOPICS)

    def _apply(
        self, topic: str, aggregate_id: UUID, version: int, state: Mapping[str, Any]
    ) -> None:
        key = str(aggregate_id)
        row = fold(self.rows.get(key), topic, key, state)
        if row is not None:
            self.rows[key] = row

    def of_tenant(self, app: Any, tenant: str) -> list[dict[str, Any]]:
        self.log.catch_up(app)
        return [dict(r) for r in self.rows.values() if r["tenant"] == tenant]


class ComplianceDecisions(Projection):
    """`consent.compliance_decisions`: one row per decision, by tenant, outcome and time."""

    name = "compliance_decisions"
    schema = "consent"
    tables = ("compliance_decisions",)
    topics: ClassVar[tuple[str, ...]] = TOPICS
    create_sql: ClassVar[tuple[LiteralString, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.compliance_decisions ("
        " id uuid PRIMARY KEY, tenant text NOT NULL, decided_at timestamptz NOT NULL,"
        " data jsonb NOT NULL)",
        "CREATE INDEX IF NOT EXISTS compliance_decisions_tenant_time"
        " ON {schema}.compliance_decisions (tenant, decided_at)",
    )

    def process(self, cursor: Cursor, event: ProjectedEvent) -> None:
        key = str(event.aggregate_id)
        cursor.execute(
            self.sql("SELECT data FROM {schema}.compliance_decisions WHERE id = %s"), (key,)
        )
        found = cursor.fetchone()
        row = fold(
            _from_json(found["data"]) if found else None, event.stored_name, key, event.state
        )
        if row is None:
            return
        cursor.execute(
            self.sql(
                "INSERT INTO {schema}.compliance_decisions (id, tenant, decided_at, data)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data"
            ),
            (key, row["tenant"], row["decided_at"], Jsonb(to_json_value(row))),
        )

    def of_tenant(self, tenant: str) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT data FROM {schema}.compliance_decisions WHERE tenant = %s ORDER BY decided_at",
            (tenant,),
        )
        return [_from_json(r["data"]) for r in rows]


class PostgresDecisions(CaughtUpProjection[ComplianceDecisions]):
    """The PostgreSQL read model, caught up before each read (read-your-writes for the API)."""

    def __init__(
        self, app: Any, store: ReadStore, *, schema: str = ComplianceDecisions.schema
    ) -> None:
        super().__init__(ComplianceDecisions, app, store, schema=schema)

    def of_tenant(self, app: Any, tenant: str) -> list[dict[str, Any]]:
        return self.current().of_tenant(tenant)


def _from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(data)
    row["decided_at"] = dt.datetime.fromisoformat(row["decided_at"])
    return row


PROJECTIONS: list[type[Projection]] = [ComplianceDecisions, projection_for("consent")]
