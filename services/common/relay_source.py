"""The relay's store side: the service's notification log, read and encoded as Kafka records."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from kafka.partitioner.default import murmur2
from tenacity import Retrying, retry_if_exception_type, wait_exponential

from contracts.envelope import OutboundRecord, build_record
from contracts.schemas import SchemaRegistry, default_registry
from services.common.events import decode_state
from services.common.settings import Settings
from services.common.store import CareApplication, build_application

if TYPE_CHECKING:
    from services.common.relay import RelayConfig

log = logging.getLogger("careledger.relay")
DB_DOWN = (OperationalError, InterfaceError)
T = TypeVar("T")


def store_application(service: str, settings: Settings) -> Any:
    """A bare application on the service's tables, for reading its notification log."""
    app_cls = type(f"{service.title()}RelayReader", (CareApplication,), {"name": service})
    return build_application(app_cls, settings, create_table=False)


def import_domain(service: str, extra: Sequence[str] = ()) -> None:
    """Import the modules that name the service's events, so stored names resolve."""
    for module in (f"services.{service}.domain", *extra):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise


def partition_for(key: bytes, partitions: int) -> int:
    """The partition of `key` as Kafka's default partitioner computes it (murmur2, positive)."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


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
        import_domain(config.service, config.domain_modules)
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

    def wire(
        self, notification: Notification, partitions: int
    ) -> tuple[bytes, bytes, list[tuple[str, bytes]], int]:
        """Key, value, headers and the partition kafka-python's default partitioner picks."""
        record = self.record(notification)
        return record.key, record.value, record.headers, partition_for(record.key, partitions)

    def max_notification_id(self) -> int | None:
        try:
            return int(self.app.recorder.max_notification_id() or 0)
        except DB_DOWN:
            return None

    def close(self) -> None:
        self.app.close()
