"""The event store: an eventsourcing Application base on PostgreSQL (one schema per service).

Services run with table creation off (`careledger db init` creates tables once, since concurrent
creation races), with the library's database-functions path off (it skips events for tailing
readers) and with a lock timeout. Unit tests use the in-memory (popo) store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    OperationalError,
    ProcessRecorder,
    Transcoder,
)
from psycopg.conninfo import conninfo_to_dict

from contracts.naming import event_name, event_type
from contracts.records import event_body, event_meta
from services.common.context import CommandContext, acting_as
from services.common.errors import Conflict, NotFound, StaleVersion, Unavailable
from services.common.events import CareMapper, DateAsISO, decode_state
from services.common.settings import (
    DEFAULT_AGGREGATE_CACHE_SIZE,
    DEFAULT_MAX_EVENT_BYTES,
    Settings,
)
from services.common.store.deadline import guard_connections
from services.common.store.group_commit import GroupCommit
from services.common.store.pool import reconnect_promptly
from services.common.store.repository import CareRepository
from services.common.viewer import Touched

IN_MEMORY: dict[str, str] = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
CACHE_SIZE_KEY = "CARELEDGER_AGGREGATE_CACHE_SIZE"  # aggregates kept current per process
MAX_EVENT_BYTES_KEY = "CARELEDGER_MAX_EVENT_BYTES"
# libpq parameters of the URL that eventsourcing's settings have no name for (JSON), e.g.
# target_session_attrs=read-write, which makes a URL naming a primary and its standby reach
# whichever accepts writes, or sslmode.
CONNINFO_KEY = "CARELEDGER_POSTGRES_CONNINFO"
STORE_PARAMETERS = ("dbname", "host", "port", "user", "password")


def store_env(
    settings: Settings | None, schema: str, *, create_table: bool = False
) -> Mapping[str, str]:
    """The eventsourcing environment of one service's store: PostgreSQL (settings) or memory."""
    if settings is None:
        return IN_MEMORY
    return postgres_env(settings, schema, create_table=create_table)


def postgres_env(settings: Settings, schema: str, *, create_table: bool = False) -> dict[str, str]:
    """The eventsourcing environment for one service's schema on the configured server."""
    if not settings.database_url:
        raise RuntimeError(
            "no database configured: set CARELEDGER_DATABASE_URL or run `careledger stack up`"
        )
    info = conninfo_to_dict(settings.database_url)
    extra = {key: str(value) for key, value in info.items() if key not in STORE_PARAMETERS}
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(info.get("dbname", "careledger")),
        "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(info.get("port", "5432")),
        "POSTGRES_USER": str(info.get("user", "careledger")),
        "POSTGRES_PASSWORD": str(info.get("password", "")),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "POSTGRES_LOCK_TIMEOUT": str(settings.db_lock_timeout_seconds),
        "POSTGRES_CONNECT_TIMEOUT": str(settings.db_connect_timeout_seconds),
        "POSTGRES_POOL_SIZE": str(settings.db_pool_size),
        # Group commit needs one writer at a time; overflow serves bursts of reads, and waiting
        # requests queue (a full queue would turn a burst into 503s).
        "POSTGRES_MAX_OVERFLOW": str(settings.db_pool_size * 2),
        "POSTGRES_MAX_WAITING": "256",
        "POSTGRES_PRE_PING": "n",
        "CREATE_TABLE": "y" if create_table else "n",
        CACHE_SIZE_KEY: str(settings.aggregate_cache_size),
        MAX_EVENT_BYTES_KEY: str(settings.max_event_bytes),
        CONNINFO_KEY: json.dumps(extra),
    }


class CareApplication(Application[UUID]):
    """Base of each service's Application: stable event names, metadata, tracking.

    Subclasses set `name` to the service name (tables `<name>_events` and `<name>_tracking` in
    the schema of the same name). The recorder is a process recorder so that a consumer can
    commit its events and the Kafka position it has read in one transaction.
    """

    name: ClassVar[str] = "careledger"  # type: ignore[misc]
    access_log: Any = None  # the access log's read model (access/reads.py), set at composition

    def construct_mapper(self) -> Mapper[UUID]:
        limit = int(self.env.get(MAX_EVENT_BYTES_KEY) or DEFAULT_MAX_EVENT_BYTES)
        return CareMapper(transcoder=self.construct_transcoder(), max_event_bytes=limit)

    def construct_transcoder(self) -> Transcoder:
        transcoder = JSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_repository(self) -> Repository[UUID]:
        size = int(self.env.get(CACHE_SIZE_KEY) or DEFAULT_AGGREGATE_CACHE_SIZE)
        return CareRepository(self.events, snapshot_store=self.snapshots, cache_size=size)

    def construct_recorder(self) -> ProcessRecorder:
        datastore = getattr(self.factory, "datastore", None)  # PostgreSQL only
        if datastore is not None:
            guard_connections(datastore)
            reconnect_promptly(datastore.pool)
            datastore.pool.kwargs.update(json.loads(self.env.get(CONNINFO_KEY) or "{}"))
        return self.factory.process_recorder()

    @property
    def process_recorder(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    @cached_property
    def _group_commit(self) -> GroupCommit:
        return GroupCommit(self.recorder.insert_events, self.mapper.to_stored_event)

    def save_as(self, ctx: CommandContext, *aggregates: Any) -> None:
        """Save atomically as `ctx`; a concurrent change to the same aggregate is a 409.

        Concurrent calls share one database transaction (see group_commit.py).
        """
        with acting_as(ctx):
            try:
                self._group_commit.save(ctx, aggregates)
            except IntegrityError as exc:
                raise Conflict(
                    "the record was changed by another request at the same time: "
                    "read it again and retry"
                ) from exc
            except OperationalError as exc:
                raise Unavailable("the event store did not answer; retry shortly") from exc

    def load(
        self,
        aggregate_cls: type[Any],
        aggregate_id: UUID,
        tenant: str,
        *,
        version: int | None = None,
    ) -> Any:
        """The aggregate of this tenant (at `version` if given), else NotFound (404)."""
        label = aggregate_cls.__name__.lower()
        try:
            aggregate: Any = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFound(f"no {label} {aggregate_id}") from None
        except OperationalError as exc:
            raise Unavailable("the event store did not answer; retry shortly") from exc
        if not isinstance(aggregate, aggregate_cls):
            raise NotFound(f"no {label} {aggregate_id}")
        if getattr(aggregate, "tenant", None) != tenant:
            missing = NotFound(f"no {label} {aggregate_id}")
            # the attempt is recorded in the record's own practice (services/common/access/log.py)
            missing.audit = Touched(
                resource_type=label,
                records=[(str(aggregate_id), aggregate.version)],
                clients=list(getattr(aggregate, "access_clients", ())),
                tenant=aggregate.tenant,
            )
            raise missing
        if version is not None and aggregate.version != version:
            raise NotFound(f"{label} {aggregate_id} has no version {version}")
        return aggregate

    def load_at(
        self, aggregate_cls: type[Any], aggregate_id: UUID, tenant: str, at: dt.datetime
    ) -> Any:
        """The aggregate as it was at time `at` (the last version stored at or before it)."""
        current = self.load(aggregate_cls, aggregate_id, tenant)
        versions = [e for e in self.history_records(aggregate_id) if e["timestamp"] <= at]
        if not versions:
            raise NotFound(
                f"{aggregate_cls.__name__.lower()} {aggregate_id} did not exist at {at.isoformat()}"
            )
        version = versions[-1]["version"]
        return (
            current
            if version == current.version
            else self.load(aggregate_cls, aggregate_id, tenant, version=version)
        )

    def history_records(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        """Every stored event of one aggregate: type, version, timestamp, meta and body."""
        records = []
        for stored in self.recorder.select_events(aggregate_id):
            state = decode_state(self.mapper, stored.topic, stored.state)
            body = event_body(aggregate_id, stored.originator_version, state)
            records.append(
                {
                    "type": event_type(stored.topic, _class_version(stored.topic)),
                    "event": event_name(stored.topic),
                    "version": stored.originator_version,
                    "timestamp": state["timestamp"],
                    "meta": event_meta(state),
                    "body": body,
                }
            )
        return records


def _class_version(topic: str) -> int:
    from eventsourcing.utils import resolve_topic

    return int(getattr(resolve_topic(topic), "class_version", 1))


def build_application(
    cls: type[CareApplication],
    settings: Settings | None,
    *,
    env: Mapping[str, str] | None = None,
    create_table: bool = False,
) -> Any:
    """Build `cls` on PostgreSQL (settings given) or in memory (settings None)."""
    base = store_env(settings, cls.name, create_table=create_table)
    return cls(env={**base, **(env or {})})


def check_version(current: int, expected: int | None) -> None:
    """Raise 412 when an If-Match version is not the aggregate's current version."""
    if expected is not None and expected != current:
        raise StaleVersion(
            f"the resource is at version {current}, not {expected}: "
            "read it again and retry with its current ETag",
            current_version=current,
        )


@contextmanager
def closing(app: Application[UUID]) -> Iterator[Application[UUID]]:
    try:
        yield app
    finally:
        app.close()
