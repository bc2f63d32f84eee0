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

import importlib
import importlib.util
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any, ClassVar, LiteralString, TypeVar
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from psycopg import sql

from services.common.events import decode_state
from services.common.readstore import Cursor, ProjectedEvent, ReadStore
from services.common.settings import SERVICES, Settings
from services.common.store import CareApplication, build_application

log = structlog.get_logger(__name__)
TRACKING_TABLE = "projection_tracking"
__all__ = [
    "Cursor",
    "ProjectedEvent",
    "Projection",
    "ProjectionRunner",
    "ReadStore",
    "find_projection",
    "projections_of",
    "rebuild",
    "run_projections",
]


class Projection:
    """Base of a read model. `{schema}` in `create_sql` and `sql()` is the service's schema."""

    name: ClassVar[str] = ""
    schema: ClassVar[str] = ""  # the service whose events it reads; its tables live there too
    tables: ClassVar[tuple[str, ...]] = ()  # dropped on rebuild
    create_sql: ClassVar[tuple[LiteralString, ...]] = ()  # CREATE TABLE IF NOT EXISTS ...
    topics: ClassVar[tuple[str, ...]] = ()  # stored event names to read; () reads every event

    def __init__(self, store: ReadStore | None = None) -> None:
        self.store = store

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
            self._create_read_model(cur)

    def position(self) -> int:
        rows = self.store.query(
            sql.SQL("SELECT position FROM {} WHERE name = %s").format(self._tracking),
            (self.projection.name,),
        )
        return int(rows[0]["position"]) if rows else 0

    def run_once(self) -> int:
        """Apply the next batch of events; returns how many were applied."""
        with self.store.transaction() as cur:
            cur.execute(
                sql.SQL("SELECT position FROM {} WHERE name = %s FOR UPDATE").format(
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
            for notification in notifications:
                self.projection.process(cur, self._decode(notification))
            if notifications:
                cur.execute(
                    sql.SQL("UPDATE {} SET position = %s WHERE name = %s").format(self._tracking),
                    (notifications[-1].id, self.projection.name),
                )
        return len(notifications)

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
            for table in self.projection.tables:
                cur.execute(
                    sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                        sql.Identifier(self.projection.schema, table)
                    )
                )
            # Reset rather than delete the row: a runner waiting for its lock then reads 0.
            cur.execute(
                sql.SQL("UPDATE {} SET position = 0 WHERE name = %s").format(self._tracking),
                (self.projection.name,),
            )
            self._create_read_model(cur)
        replayed = self.catch_up()
        log.info("projection.rebuilt", projection=self.projection.name, events=replayed)
        return replayed

    def _create_read_model(self, cur: Cursor) -> None:
        for statement in self.projection.create_sql:
            cur.execute(self.projection.sql(statement))
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


# -- registry and entry points -----------------------------------------------------------------


def projections_of(service: str) -> list[type[Projection]]:
    """The `PROJECTIONS` list of `services.<service>.projections`, or [] if it has none."""
    module_name = f"services.{service}.projections"
    if not _module_exists(module_name):
        return []
    return list(getattr(importlib.import_module(module_name), "PROJECTIONS", []))


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def find_projection(
    name: str, candidates: Sequence[type[Projection]] | None = None
) -> type[Projection]:
    pool = (
        candidates
        if candidates is not None
        else [p for service in SERVICES for p in projections_of(service)]
    )
    for cls in pool:
        if cls.name == name:
            return cls
    known = ", ".join(sorted(p.name for p in pool)) or "none"
    raise LookupError(f"no projection named {name!r}; known: {known}")


def reader_app(schema: str, settings: Settings) -> CareApplication:
    """An application that reads `schema`'s event store (its domain module names the events)."""
    domain = f"services.{schema}.domain"
    if _module_exists(domain):
        importlib.import_module(domain)
    app_cls = type(f"{schema.title()}Reader", (CareApplication,), {"name": schema})
    app: CareApplication = build_application(app_cls, settings)
    return app


def rebuild(
    name: str, settings: Settings, *, candidates: Sequence[type[Projection]] | None = None
) -> int:
    """`careledger projections rebuild <name>`: drop, recreate, replay; returns events replayed."""
    cls = find_projection(name, candidates)
    app, store = reader_app(cls.schema, settings), ReadStore.from_settings(settings)
    try:
        return ProjectionRunner(cls(store), app, store).rebuild()
    finally:
        store.close()
        app.close()


T = TypeVar("T")
STORE_DOWN = (psycopg.OperationalError, OperationalError, InterfaceError)


def _until_store_answers(call: Callable[[], T]) -> T:
    """`call()`, again with backoff while PostgreSQL does not answer: a runner that starts
    during an outage (or a failover) waits for the store instead of exiting."""
    backoff = 0.5
    while True:
        try:
            return call()
        except STORE_DOWN as exc:
            log.warning("projection.store_down", error=type(exc).__name__)
            time.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


def run_projections(
    service: str,
    projections: Sequence[type[Projection]] | None,
    settings: Settings,
    *,
    poll_interval_s: float = 0.5,
    until: Callable[[], bool] | None = None,
) -> None:
    """Keep `projections` (None: the service's `PROJECTIONS`) up to date until SIGTERM/SIGINT."""
    if projections is None:
        projections = projections_of(service)
    stopping: list[bool] = []
    if until is None:

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stopping.append(True)

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    app = _until_store_answers(lambda: reader_app(service, settings))
    store = ReadStore.from_settings(settings)
    runners = [ProjectionRunner(cls(store), app, store) for cls in projections]
    backoff = poll_interval_s
    try:
        for runner in runners:
            _until_store_answers(runner.ensure_tables)
        while not stopping and not (until is not None and until()):
            try:
                applied = sum(runner.run_once() for runner in runners)
                backoff = poll_interval_s
            except STORE_DOWN as exc:
                log.warning("projection.retrying", service=service, error=type(exc).__name__)
                applied, backoff = 0, min(backoff * 2, 10.0)
            if not applied:
                time.sleep(backoff)
    finally:
        store.close()
        app.close()
