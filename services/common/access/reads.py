"""The access log as compliance reads it: a read model of access events, paged and filtered.

`AccessLogProjection` keeps `<service>.access_log` (one row per access event, by practice and
time), rebuildable from the events like every read model; `InMemoryAccessLog` folds the same
rows in process for unit tests. Filters: the client a record concerns (`patient`), the caller
(`user`), a time window (`from` inclusive, `to` exclusive) and the outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, LiteralString, Protocol
from uuid import UUID

from psycopg.types.json import Jsonb

from contracts.records import event_body
from services.common.access.log import ACCESS_EVENT, NO_TENANT
from services.common.readmodels.projection import Cursor, ProjectedEvent, Projection
from services.common.readmodels.readmodel import CaughtUpProjection, InProcessLog
from services.common.readmodels.readstore import ReadStore


@dataclass(frozen=True)
class AccessQuery:
    tenant: str
    patient: str | None = None
    user: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    outcome: str | None = None
    offset: int = 0
    limit: int = 50

    def matches(self, row: Mapping[str, Any]) -> bool:
        at = dt.datetime.fromisoformat(row["timestamp"])
        return (
            row["tenant"] in (self.tenant, NO_TENANT)
            and (self.patient is None or self.patient in row["what"]["clients"])
            and (self.user is None or row["who"]["sub"] == self.user)
            and (self.start is None or at >= self.start)
            and (self.end is None or at < self.end)
            and (self.outcome is None or row["outcome"] == self.outcome)
        )


class AccessLogSource(Protocol):
    """Where a service reads its access log from: rows (newest first) and the total."""

    def find(self, app: Any, query: AccessQuery) -> tuple[list[dict[str, Any]], int]: ...


class InMemoryAccessLog:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.log = InProcessLog(self._apply, topics=[ACCESS_EVENT])

    def _apply(self, topic: str, aid: UUID, version: int, state: Mapping[str, Any]) -> None:
        self.rows.append(event_body(aid, version, state))

    def find(self, app: Any, query: AccessQuery) -> tuple[list[dict[str, Any]], int]:
        self.log.catch_up(app)
        found = [r for r in reversed(self.rows) if query.matches(r)]
        return found[query.offset : query.offset + query.limit], len(found)


class AccessLogProjection(Projection):
    """`<service>.access_log`: one row per access event (set `schema` per service)."""

    name = "access_log"
    tables = ("access_log",)
    topics: ClassVar[tuple[str, ...]] = (ACCESS_EVENT,)
    create_sql: ClassVar[tuple[LiteralString, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.access_log ("
        " position bigint PRIMARY KEY, id uuid NOT NULL, tenant text NOT NULL,"
        " at timestamptz NOT NULL, sub text, outcome text NOT NULL,"
        " clients text[] NOT NULL, data jsonb NOT NULL)",
        "CREATE INDEX IF NOT EXISTS access_log_tenant_at ON {schema}.access_log (tenant, at)",
        "CREATE INDEX IF NOT EXISTS access_log_clients ON {schema}.access_log USING gin (clients)",
    )

    def process(self, cursor: Cursor, event: ProjectedEvent) -> None:
        body = event.body
        cursor.execute(
            self.sql(
                "INSERT INTO {schema}.access_log"
                " (position, id, tenant, at, sub, outcome, clients, data)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (position) DO NOTHING"
            ),
            (
                event.position,
                str(event.aggregate_id),
                body["tenant"],
                body["timestamp"],
                body["who"]["sub"],
                body["outcome"],
                body["what"]["clients"],
                Jsonb(body),
            ),
        )

    def find(self, query: AccessQuery) -> tuple[list[dict[str, Any]], int]:
        where: list[LiteralString] = ["tenant = ANY(%(tenants)s)"]
        params: dict[str, Any] = {
            "tenants": [query.tenant, NO_TENANT],
            "limit": query.limit,
            "offset": query.offset,
        }
        for column, value, clause in (
            ("patient", query.patient, "%(patient)s = ANY(clients)"),
            ("user", query.user, "sub = %(user)s"),
            ("start", query.start, "at >= %(start)s"),
            ("end", query.end, "at < %(end)s"),
            ("outcome", query.outcome, "outcome = %(outcome)s"),
        ):
            if value is not None:
                where.append(clause)
                params[column] = value
        condition: LiteralString = " AND ".join(where)
        # Only the fixed clauses above are joined in; every value is a bound parameter.
        rows = self.query(
            "SELECT data, count(*) OVER () AS total FROM {schema}.access_log WHERE "  # noqa: S608
            + condition
            + " ORDER BY at DESC, position DESC LIMIT %(limit)s OFFSET %(offset)s",
            params,
        )
        if rows:
            return [dict(r["data"]) for r in rows], int(rows[0]["total"])
        counted = self.query(
            "SELECT count(*) AS total FROM {schema}.access_log WHERE " + condition,  # noqa: S608
            params,
        )
        return [], int(counted[0]["total"])


def projection_for(service: str) -> type[AccessLogProjection]:
    """The access-log projection in one service's schema."""
    return type(
        f"{service.title()}AccessLog",
        (AccessLogProjection,),
        {"schema": service, "name": f"{service}_access_log"},
    )


class PostgresAccessLog(CaughtUpProjection[AccessLogProjection]):
    """The PostgreSQL access log, caught up before each read (compliance sees the latest)."""

    def __init__(self, app: Any, store: ReadStore, *, schema: str) -> None:
        super().__init__(projection_for(schema), app, store, schema=schema)

    def find(self, app: Any, query: AccessQuery) -> tuple[list[dict[str, Any]], int]:
        return self.current().find(query)


def access_log_source(app: Any) -> AccessLogSource:
    """The app's access log read model: PostgreSQL when its composition root set one."""
    source: AccessLogSource | None = getattr(app, "access_log", None)
    if source is None:
        source = app.access_log = InMemoryAccessLog()
    return source
