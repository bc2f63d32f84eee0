"""Read models in PostgreSQL, fed from a service's notification log, rebuildable from events.

A `Projection` names its tables and the SQL that creates them, and writes each event with the
cursor of the batch transaction; the projection's position (`<schema>.projection_tracking`)
commits in that same transaction, so a read model is never ahead of or behind its position.
Each batch locks the projection's tracking row first, so two runners of one projection, or a
runner and a rebuild, take turns instead of writing twice. Reading "notifications after N" is
safe because the event store locks its table for each insert (commit order = id order).

eventsourcing's own `eventsourcing.projection.ProjectionRunner` was considered: it commits one
transaction per event inside its view's methods, runs threads fed by LISTEN/NOTIFY and builds the
application from environment variables, and has no drop-and-replay. Batches in one transaction,
a rebuild and a loop that tests can drive step by step are what careledger needs, so the runner
is this small pull loop over the library's `select_notifications` and mapper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, LiteralString
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from psycopg import sql

from services.common import quarantine
from services.common.events import decode_state
from services.common.readmodels.readstore import Cursor, ProjectedEvent, ReadStore
from services.common.store.application import CareApplication

log = structlog.get_logger(__name__)
TRACKING_TABLE = "projection_tracking"
# The database not answering: retried later, never a reason to quarantine an event.
TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError, OperationalError, InterfaceError)


class _HeldBack(Exception):
    """The batch holds an event of a quarantined aggregate: apply it one event at a time."""


__all__ = ["Cursor", "ProjectedEvent", "Projection", "ProjectionRunner", "ReadStore"]


class Projection:
    """Base of a read model. `{schema}` in `create_sql` and `sql()` is the service's schema."""

    name: ClassVar[str] = ""
    schema: ClassVar[str] = ""  # the service whose events it reads; its tables live there too
    tables: ClassVar[tuple[str, ...]] = ()  # dropped on rebuild
    create_sql: ClassVar[tuple[LiteralString, ...]] = ()  # CREATE TABLE IF NOT EXISTS ...
    topics: ClassVar[tuple[str, ...]] = ()  # stored event names to read; () reads every event

    def __init__(self, store: ReadStore | None = None) -> None:
        self.store = store

    def create_statements(self) -> list[sql.Composed]:
        """The DDL of the read model's tables and indexes (`create_sql`, schema filled in)."""
        return [self.sql(statement) for statement in self.create_sql]

    def shape(self) -> str | None:
        """What the tables look like; when it changes they are dropped and replayed (None: not
        tracked)."""
        return None

    def process(self, cursor: Cursor, event: ProjectedEvent) -> None:
        """Apply one event with `cursor` (the batch transaction); no commit here."""
        raise NotImplementedError

    @classmethod
    def sql(cls, template: LiteralString) -> sql.Composed:
        return sql.SQL(template).format(schema=sql.Identifier(cls.schema))

    def query(
        self, template: LiteralString, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[dict[str, Any]]:
        """Rows of a read query (`{schema}` is filled in) as dicts."""
        if self.store is None:
            raise RuntimeError(f"{self.name}: built without a ReadStore, cannot query")
        return self.store.query(self.sql(template), params)


class ProjectionRunner:
    """Applies one projection's events in batches, position and writes in one transaction."""

    def __init__(
        self,
        projection: Projection,
        app: CareApplication,
        store: ReadStore,
        *,
        batch_size: int = 500,
    ) -> None:
        self.projection = projection
        self.app = app
        self.store = store
        self.batch_size = batch_size
        self._tracking = sql.Identifier(projection.schema, TRACKING_TABLE)

    def ensure_tables(self) -> None:
        """Create the schema, the tracking table, the read-model tables and the tracking row."""
        with self.store.transaction() as cur:
            self._lock_ddl(cur)
            cur.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(self.projection.schema)
                )
            )
            cur.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, "
                    "position bigint NOT NULL)"
                ).format(self._tracking)
            )
            cur.execute(  # how many events are quarantined: the hot path reads only this
                sql.SQL(
                    "ALTER TABLE {} ADD COLUMN IF NOT EXISTS held integer NOT NULL DEFAULT 0"
                ).format(self._tracking)
            )
            cur.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS shape text").format(self._tracking)
            )
            cur.execute(quarantine.create_sql(self.projection.schema))
            self._reshape(cur)
            self._create_read_model(cur)

    def _reshape(self, cur: Cursor) -> None:
        """Drop the tables and start from position 0 when their shape is not the one recorded."""
        shape = self.projection.shape()
        if shape is None:
            return
        cur.execute(
            sql.SQL("SELECT shape FROM {} WHERE name = %s FOR UPDATE").format(self._tracking),
            (self.projection.name,),
        )
        row = cur.fetchone()
        if row is not None and row["shape"] != shape:
            log.info("projection.reshaped", projection=self.projection.name)
            self._drop(cur)
        cur.execute(
            sql.SQL(
                "INSERT INTO {} (name, position, shape) VALUES (%s, 0, %s)"
                " ON CONFLICT (name) DO UPDATE SET shape = EXCLUDED.shape"
            ).format(self._tracking),
            (self.projection.name, shape),
        )

    def position(self) -> int:
        rows = self.store.query(
            sql.SQL("SELECT position FROM {} WHERE name = %s").format(self._tracking),
            (self.projection.name,),
        )
        return int(rows[0]["position"]) if rows else 0

    def run_once(self) -> int:
        """Apply the next batch of events; returns how many were read (quarantined included).

        The batch runs in a savepoint; if an event fails for any reason but the database not
        answering, the batch is applied again one event at a time and each event that fails
        is quarantined, with the later events of its aggregate, instead of stopping the
        projection for everyone (quarantine.py).
        """
        with self.store.transaction() as cur:
            cur.execute(
                sql.SQL("SELECT position, held FROM {} WHERE name = %s FOR UPDATE").format(
                    self._tracking
                ),
                (self.projection.name,),
            )
            row = cur.fetchone()
            if row is None:
                raise RuntimeError(f"projection {self.projection.name}: call ensure_tables()")
            notifications = self.app.recorder.select_notifications(
                start=int(row["position"]) + 1,
                limit=self.batch_size,
                topics=list(self.projection.topics),
            )
            if not notifications:
                return 0
            held = self._held(cur) if row["held"] else {}
            try:
                with cur.connection.transaction():  # a savepoint
                    for notification in notifications:
                        if str(notification.originator_id) in held:
                            raise _HeldBack
                        self.projection.process(cur, self._decode(notification))
            except TRANSIENT:
                raise
            except Exception:
                self._one_by_one(cur, notifications, held)
            cur.execute(
                sql.SQL("UPDATE {} SET position = %s WHERE name = %s").format(self._tracking),
                (notifications[-1].id, self.projection.name),
            )
        return len(notifications)

    @property
    def source(self) -> str:
        return f"projection:{self.projection.name}"

    def _held(self, cur: Cursor) -> dict[str, int]:
        """Aggregates with a quarantined event, and the position of the first one."""
        cur.execute(
            sql.SQL(
                "SELECT aggregate_id, min(position) AS first FROM {} WHERE source = %s"
                " GROUP BY aggregate_id"
            ).format(quarantine.table(self.projection.schema)),
            (self.source,),
        )
        return {str(r["aggregate_id"]): int(r["first"]) for r in cur.fetchall()}

    def _one_by_one(
        self, cur: Cursor, notifications: Sequence[Notification], held: dict[str, int]
    ) -> None:
        entries = []
        for notification in notifications:
            aggregate = str(notification.originator_id)
            behind = held.get(aggregate)
            if behind is None:
                try:
                    with cur.connection.transaction():
                        self.projection.process(cur, self._decode(notification))
                    continue
                except TRANSIENT:
                    raise
                except Exception as exc:
                    held[aggregate] = notification.id
                    reason = quarantine.reason_of(exc)
            else:
                reason = f"held behind position {behind}, an earlier event of its aggregate"
            entries.append(
                quarantine.Held(
                    self.source,
                    str(notification.id),
                    notification.id,
                    aggregate,
                    notification.topic,
                    reason,
                    behind,
                )
            )
        quarantine.add(cur, self.projection.schema, self.projection.schema, entries)
        self._count_held(cur)

    def _count_held(self, cur: Cursor) -> None:
        cur.execute(
            sql.SQL(
                "UPDATE {} SET held = (SELECT count(*) FROM {} WHERE source = %s)"
                " WHERE name = %s RETURNING held"
            ).format(self._tracking, quarantine.table(self.projection.schema)),
            (self.source, self.projection.name),
        )
        row = cur.fetchone()
        quarantine.set_gauge(self.projection.schema, self.source, int(row["held"]) if row else 0)

    def retry(self, position: int | None = None) -> tuple[int, int]:
        """Apply the quarantined events again (all, or the aggregate of `position`), in order.

        Returns (applied, still held). An event that fails again stays with its new reason,
        and so do the later events of its aggregate.
        """
        with self.store.transaction() as cur:
            cur.execute(
                sql.SQL("SELECT position FROM {} WHERE name = %s FOR UPDATE").format(
                    self._tracking
                ),
                (self.projection.name,),
            )
            rows = quarantine.held(cur, self.projection.schema, self.source)
            if position is not None:
                wanted = {r.aggregate_id for r in rows if r.position == position}
                rows = [r for r in rows if r.aggregate_id in wanted]
            failed: dict[str | None, int] = {}
            applied: list[str] = []
            still: list[quarantine.Held] = []
            for row in rows:
                if row.aggregate_id in failed:
                    continue
                try:
                    with cur.connection.transaction():
                        self.projection.process(cur, self._decode(self._at(row.position)))
                    applied.append(row.ref)
                except TRANSIENT:
                    raise
                except Exception as exc:
                    failed[row.aggregate_id] = row.position
                    still.append(replace(row, reason=quarantine.reason_of(exc), held_behind=None))
            quarantine.remove(cur, self.projection.schema, self.source, applied)
            quarantine.add(cur, self.projection.schema, self.projection.schema, still)
            self._count_held(cur)
        log.info(
            "projection.retried",
            projection=self.projection.name,
            applied=len(applied),
            still_held=len(rows) - len(applied),
        )
        return len(applied), len(rows) - len(applied)

    def _at(self, position: int) -> Notification:
        found = self.app.recorder.select_notifications(start=position, limit=1)
        if not found or found[0].id != position:
            raise LookupError(f"no event at position {position}")
        return found[0]

    def catch_up(self) -> int:
        """Apply batches until the log is exhausted; returns how many events were applied."""
        total = 0
        while applied := self.run_once():
            total += applied
        return total

    def rebuild(self) -> int:
        """Drop the read model, reset its position, recreate it and replay every event."""
        self.ensure_tables()
        with self.store.transaction() as cur:
            self._lock_ddl(cur)  # locks in the order ensure_tables takes them: DDL, then row
            cur.execute(
                sql.SQL("SELECT position FROM {} WHERE name = %s FOR UPDATE").format(
                    self._tracking
                ),
                (self.projection.name,),
            )
            self._drop(cur)
            self._create_read_model(cur)
        replayed = self.catch_up()
        log.info("projection.rebuilt", projection=self.projection.name, events=replayed)
        return replayed

    def _drop(self, cur: Cursor) -> None:
        for table in self.projection.tables:
            cur.execute(
                sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                    sql.Identifier(self.projection.schema, table)
                )
            )
        # Reset rather than delete the row: a runner waiting for its lock then reads 0.
        cur.execute(
            sql.SQL("UPDATE {} SET position = 0, held = 0 WHERE name = %s").format(self._tracking),
            (self.projection.name,),
        )
        cur.execute(  # the replay quarantines again whatever still fails
            sql.SQL("DELETE FROM {} WHERE source = %s").format(
                quarantine.table(self.projection.schema)
            ),
            (self.source,),
        )

    def _create_read_model(self, cur: Cursor) -> None:
        for statement in self.projection.create_statements():
            cur.execute(statement)
        cur.execute(
            sql.SQL(
                "INSERT INTO {} (name, position) VALUES (%s, 0) ON CONFLICT (name) DO NOTHING"
            ).format(self._tracking),
            (self.projection.name,),
        )

    def _lock_ddl(self, cur: Cursor) -> None:
        # Concurrent CREATE ... IF NOT EXISTS can still collide: one schema's DDL at a time.
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            (f"careledger.projections.{self.projection.schema}",),
        )

    def _decode(self, notification: Notification) -> ProjectedEvent:
        return ProjectedEvent(
            position=notification.id,
            aggregate_id=UUID(str(notification.originator_id)),
            version=notification.originator_version,
            stored_name=notification.topic,
            state=decode_state(self.app.mapper, notification.topic, notification.state),
        )
