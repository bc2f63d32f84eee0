"""Poison records, held aside with the reason instead of stopping a relay, consumer or projection.

One table per service schema, `<schema>.quarantine`, one row per record held:

- `source`: `relay`, `consumer` or `projection:<name>`; `ref`: the record in that source (the
  store position, or `<topic>:<partition>:<offset>` for a consumer);
- `position`, `aggregate_id`, `event_type`, `reason` (the full reason, which may name fields;
  it stays in the store, never in a log line), `held_behind` (for a record held only because an
  earlier record of its aggregate is: that record's position, so per-aggregate order holds);
- `quarantined_at`, `retry_requested_at` (set by the retry commands).

A row goes when its record is processed on a retry. The relay's held positions are also in its
checkpoint on Kafka (relay/kafka.py): that, not this table, says what was published.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from prometheus_client import Counter, Gauge
from psycopg import sql
from psycopg.rows import dict_row

from services.common.logging import get_logger

log = get_logger("careledger.quarantine")
QUARANTINED = Counter(
    "careledger_quarantined",
    "Records quarantined (poison), by service and source",
    ["service", "source"],
)
HELD = Gauge("careledger_quarantine_held", "Records held in quarantine now", ["service", "source"])
MAX_REASON_CHARS = 2_000


@dataclass(frozen=True)
class Held:
    """One quarantined record."""

    source: str
    ref: str
    position: int
    aggregate_id: str | None
    event_type: str | None
    reason: str
    held_behind: int | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)


def reason_of(exc: BaseException) -> str:
    text = str(exc).strip()
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:MAX_REASON_CHARS]


def create_sql(schema: str) -> sql.Composed:
    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {s}.quarantine ("
        " source text NOT NULL, ref text NOT NULL, position bigint NOT NULL,"
        " aggregate_id text, event_type text, reason text NOT NULL, held_behind bigint,"
        " quarantined_at timestamptz NOT NULL DEFAULT now(), retry_requested_at timestamptz,"
        " PRIMARY KEY (source, ref))"
    ).format(s=sql.Identifier(schema))


def table(schema: str) -> sql.Composed:
    return sql.SQL("{}.quarantine").format(sql.Identifier(schema))


def add(cur: psycopg.Cursor[Any], schema: str, service: str, entries: Sequence[Held]) -> None:
    """Record `entries` with `cur` (in the caller's transaction); one PHI-free log line each."""
    for entry in entries:
        cur.execute(
            sql.SQL(
                "INSERT INTO {t} (source, ref, position, aggregate_id, event_type, reason,"
                " held_behind) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (source, ref) DO UPDATE SET reason = EXCLUDED.reason,"
                " held_behind = EXCLUDED.held_behind, retry_requested_at = NULL"
            ).format(t=table(schema)),
            (
                entry.source,
                entry.ref,
                entry.position,
                entry.aggregate_id,
                entry.event_type,
                entry.reason[:MAX_REASON_CHARS],
                entry.held_behind,
            ),
        )
        QUARANTINED.labels(service, entry.source.split(":")[0]).inc()
        log.warning(
            "quarantined",
            service=service,
            source=entry.source,
            ref=entry.ref,
            aggregate_id=entry.aggregate_id,
            event_type=entry.event_type,
            held_behind=entry.held_behind,
            why=entry.reason.split(":", 1)[0],
        )


def remove(cur: psycopg.Cursor[Any], schema: str, source: str, refs: Iterable[str]) -> None:
    cur.execute(
        sql.SQL("DELETE FROM {t} WHERE source = %s AND ref = ANY(%s)").format(t=table(schema)),
        (source, list(refs)),
    )


def held(cur: psycopg.Cursor[Any], schema: str, source: str | None = None) -> list[Held]:
    """The rows of one source (or all), in position order."""
    where = sql.SQL("WHERE source = %s") if source else sql.SQL("")
    cur.execute(
        sql.SQL(
            "SELECT source, ref, position, aggregate_id, event_type, reason, held_behind"
            " FROM {t} {w} ORDER BY source, position"
        ).format(t=table(schema), w=where),
        (source,) if source else (),
    )
    return [Held(*row) if not isinstance(row, dict) else Held(**row) for row in cur.fetchall()]


def retry_requested(cur: psycopg.Cursor[Any], schema: str, source: str) -> list[Held]:
    cur.execute(
        sql.SQL(
            "SELECT source, ref, position, aggregate_id, event_type, reason, held_behind"
            " FROM {t} WHERE source = %s AND retry_requested_at IS NOT NULL ORDER BY position"
        ).format(t=table(schema)),
        (source,),
    )
    return [Held(*row) if not isinstance(row, dict) else Held(**row) for row in cur.fetchall()]


def request_retry(database_url: str, schema: str, source: str, position: int | None = None) -> int:
    """Mark `source`'s rows (all, or the aggregate held at `position`) for a retry."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        ensure(conn, schema)
        if position is None:
            query = sql.SQL("UPDATE {t} SET retry_requested_at = now() WHERE source = %s").format(
                t=table(schema)
            )
            return conn.execute(query, (source,)).rowcount
        query = sql.SQL(
            "UPDATE {t} SET retry_requested_at = now() WHERE source = %s AND aggregate_id ="
            " (SELECT aggregate_id FROM {t} WHERE source = %s AND position = %s LIMIT 1)"
        ).format(t=table(schema))
        return conn.execute(query, (source, source, position)).rowcount


def listing(database_url: str, schema: str, source: str | None = None) -> list[dict[str, Any]]:
    """What `status` commands show: every row of the service (or of one source)."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        ensure(conn, schema)
        with conn.cursor() as cur:
            return [entry.public() for entry in held(cur, schema, source)]


def ensure(conn: psycopg.Connection[Any], schema: str) -> None:
    """Create the table if it is missing (one creator at a time: concurrent DDL collides)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"quarantine.{schema}",))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(create_sql(schema))


class StoreLink:
    """One autocommit connection to the store, opened (and the table ensured) when needed."""

    def __init__(self, schema: str, database_url: str) -> None:
        self.schema = schema
        self.database_url = database_url
        self._conn: psycopg.Connection[Any] | None = None

    def connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True, connect_timeout=5)
            ensure(self._conn, self.schema)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def set_gauge(service: str, source: str, count: int) -> None:
    HELD.labels(service, source).set(count)
