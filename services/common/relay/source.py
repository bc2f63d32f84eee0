"""The relay's store side: the service's notification log, read and encoded as Kafka records.

`CommitWakeup` lets a caught-up reader sleep until the service's next commit instead of polling
(a poll interval adds half of itself, on average, to every record's way to Kafka). It LISTENs on
the channel the event store itself notifies in every insert transaction (the PostgreSQL
recorder's `channel_name`, which the library's own subscriptions listen on too); PostgreSQL
delivers a NOTIFY only when its transaction commits. The poll interval
remains the longest wait, so a lost notification, a missing trigger or a broken connection
only brings back the polling delay: correctness never depends on NOTIFY.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from kafka.partitioner.default import murmur2
from psycopg.sql import SQL, Identifier
from tenacity import Retrying, retry_if_exception_type, wait_exponential

from contracts.envelope import OutboundRecord, build_record
from contracts.schemas import SchemaRegistry, default_registry
from services.common.events import decode_state
from services.common.relay.config import RecordTooLarge, Wire
from services.common.settings import Settings
from services.common.store.application import CareApplication, build_application

if TYPE_CHECKING:
    from services.common.relay.config import RelayConfig

log = logging.getLogger("careledger.relay")
DB_DOWN = (OperationalError, InterfaceError)
T = TypeVar("T")
HALT_CHECK_S = 0.25  # the longest a wait goes without looking at its halt event
RECONNECT_S = 1.0  # the shortest time between two attempts to LISTEN again


def store_application(service: str, settings: Settings) -> Any:
    """A bare application on the service's tables, for reading its notification log."""
    app_cls = type(f"{service.title()}RelayReader", (CareApplication,), {"name": service})
    return build_application(app_cls, settings, create_table=False)


# Every store holds access events beside its domain events (services/common/access/log.py).
STORE_WIDE_MODULES = ("services.common.access.log",)


def import_domain(modules: Sequence[str]) -> None:
    """Import the modules that name the store's events, so stored names resolve.

    The relay's reader runs in a spawned process that has imported nothing else: the access
    log's module is imported here for every store, the service's own from `modules`.
    """
    for module in (*STORE_WIDE_MODULES, *modules):
        importlib.import_module(module)


def partition_for(key: bytes, partitions: int) -> int:
    """The partition of `key` as Kafka's default partitioner computes it (murmur2, positive)."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


RECORD_OVERHEAD = 128  # a record batch's header and the record's own framing, rounded up


def record_size(key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]) -> int:
    """The size of one record in a batch of its own, as the broker counts it (an upper bound)."""
    return RECORD_OVERHEAD + len(key) + len(value) + sum(len(k) + len(v) + 4 for k, v in headers)


def retry_while_store_down(read: Callable[[], T]) -> T:
    """`read()`, retried with backoff for as long as PostgreSQL does not answer."""
    for attempt in Retrying(
        retry=retry_if_exception_type(DB_DOWN),
        wait=wait_exponential(multiplier=0.2, max=5),
        before_sleep=lambda s: log.warning("event store not answering: retrying"),
        reraise=True,
    ):
        with attempt:
            return read()
    raise AssertionError("unreachable")


class RecordSource:
    """Batches of the notification log after a position, as records checked against contracts."""

    def __init__(self, config: RelayConfig, settings: Settings) -> None:
        import_domain(config.domain_modules)
        self.batch_size = config.batch_size
        self.registry = (
            SchemaRegistry(config.schema_root) if config.schema_root else default_registry()
        )
        self.app: Any = retry_while_store_down(lambda: store_application(config.service, settings))

    def fetch(self, start: int) -> Sequence[Notification]:
        """Up to batch_size notifications from id `start` on, in commit order."""
        return retry_while_store_down(
            lambda: self.app.recorder.select_notifications(start, self.batch_size)
        )

    def record(self, notification: Notification) -> OutboundRecord:
        """The record of one notification; ContractViolation if it breaks its contract."""
        state = decode_state(self.app.mapper, notification.topic, notification.state)
        return build_record(
            stored_topic=notification.topic,
            aggregate_id=UUID(str(notification.originator_id)),
            version=notification.originator_version,
            position=notification.id,
            state=state,
            registry=self.registry,
        )

    def wire(self, notification: Notification, partitions: int, record_limit: int = 0) -> Wire:
        """Key, value, headers and the partition kafka-python's default partitioner picks.

        Raises RecordTooLarge when the record is over `record_limit` bytes (0: no limit), and
        whatever else makes the event unpublishable (the caller quarantines it).
        """
        record = self.record(notification)
        if record_limit and (size := record_size(record.key, record.value, record.headers)) > (
            record_limit
        ):
            raise RecordTooLarge(notification.id, size, record_limit)
        return record.key, record.value, record.headers, partition_for(record.key, partitions)

    def at(self, position: int) -> Notification:
        """The notification at `position` (to publish a quarantined event again)."""
        found = retry_while_store_down(lambda: self.app.recorder.select_notifications(position, 1))
        if not found or found[0].id != position:
            raise LookupError(f"no event at position {position}")
        notification: Notification = found[0]
        return notification

    def max_notification_id(self) -> int | None:
        try:
            return int(self.app.recorder.max_notification_id() or 0)
        except DB_DOWN:
            return None

    @property
    def channel(self) -> str:
        """The channel the event store notifies when it commits new events."""
        return str(self.app.recorder.channel_name)

    def close(self) -> None:
        self.app.close()


class Halt(Protocol):
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class CommitWakeup:
    """Waits until the service commits new events, or at most a given time (module docstring)."""

    def __init__(self, channel: str, settings: Settings) -> None:
        self.channel = channel
        self._url = settings.database_url
        self._connect_timeout = settings.db_connect_timeout_seconds
        self._conn: psycopg.Connection[Any] | None = None
        self._retry_at = 0.0

    @property
    def listening(self) -> bool:
        return self._conn is not None

    def listen(self) -> bool:
        """Connect and LISTEN (at most once per RECONNECT_S); False if the store did not answer."""
        self._retry_at = time.monotonic() + RECONNECT_S
        try:
            conn = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=self._connect_timeout,
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
            )
        except psycopg.Error:
            return False
        try:
            conn.execute(SQL("LISTEN {}").format(Identifier(self.channel)))
        except psycopg.Error:
            conn.close()
            return False
        self._conn = conn
        return True

    def wait(self, timeout: float, halt: Halt) -> None:
        """Return at a notification, at `timeout` or `halt`, or at once after listening again.

        Listening again returns at once: commits while no one listened notified no one, so the
        caller must read again. Notifications that arrived while the caller read are pending,
        so the wait returns at once; the extras are drained, as one read covers them all.
        """
        if self._conn is None:
            if time.monotonic() < self._retry_at or not self.listen():
                halt.wait(timeout)
            return
        deadline = time.monotonic() + timeout
        try:
            while not halt.is_set() and (remaining := deadline - time.monotonic()) > 0:
                notifies = self._conn.notifies(timeout=min(remaining, HALT_CHECK_S), stop_after=1)
                if sum(1 for _ in notifies):
                    break
            for _ in self._conn.notifies(timeout=0):
                pass
        except psycopg.Error as exc:
            log.warning("commit notifications lost (%s): polling meanwhile", type(exc).__name__)
            self.close()
            halt.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
