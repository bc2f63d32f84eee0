"""A consumer's dead letters: kept with the reason in `<schema>.quarantine`, retried on command.

The consumer sends a record it cannot process to the dead-letter topic (deadletter.py), writes a
row here (`source` consumer, `ref` `<topic>:<partition>:<offset>`) and moves on. `careledger
consume <svc> --status` lists the rows; `--retry <ref>` or `--retry-all` reads each record again
from its topic and reacts to it. Its events commit with a tracking position of their own
(`retry:<ref>`), so a record is applied once however often the retry runs; a row goes once its
record is applied, and stays, with the new reason, while it still fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import psycopg
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, Tracking
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from contracts.records import InboundRecord
from services.common import quarantine
from services.common.context import SYSTEM_ROLE, CommandContext, acting_as
from services.common.errors import Unavailable
from services.common.kafka_access import kafka_access
from services.common.quarantine import Held
from services.common.settings import Settings

SOURCE = "consumer"


def reaction_context(service: str, inbound: InboundRecord) -> CommandContext:
    """Who a reaction acts as: the service's consumer, caused by the record it reacts to."""
    return CommandContext(
        actor_id=f"{service}-consumer",
        actor_role=SYSTEM_ROLE,
        tenant=inbound.tenant,
        correlation_id=inbound.headers.get("ce_correlationid") or inbound.ce_id,
        causation_id=inbound.ce_id,
    )


def is_transient(exc: BaseException) -> bool:
    """Errors that go away by waiting: the database or the broker did not answer."""
    return isinstance(exc, OperationalError | InterfaceError | Unavailable | KafkaError)


def ref_of(record: Any) -> str:
    return f"{record.topic}:{record.partition}:{record.offset}"


def header(record: Any, name: str) -> str | None:
    for key, value in getattr(record, "headers", None) or ():
        if key == name and isinstance(value, bytes):
            return value.decode("utf-8", "replace")
    return None


class ConsumerQuarantine(quarantine.StoreLink):
    """Writes a consumer's quarantine rows (its own connection, opened when first needed)."""

    def __init__(self, schema: str, database_url: str) -> None:
        super().__init__(schema, database_url)
        self.service = schema  # the schema its rows go in: the consumer's application's

    def record(self, record: Any, reason: str) -> None:
        row = Held(
            SOURCE,
            ref_of(record),
            int(record.offset),
            header(record, "ce_subject"),
            header(record, "ce_type"),
            reason,
        )
        try:
            with self.connection().cursor() as cur:
                quarantine.add(cur, self.service, self.service, [row])
        except psycopg.Error:
            self.close()  # the caller retries while the store is down
            raise


def retry_deadletters(
    service: str,
    app: Any,
    reactions: Any,
    settings: Settings,
    ref: str | None = None,
    *,
    parse: Callable[[Any], Any] | None = None,
    kafka_options: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """React again to the quarantined records (all, or `ref`); returns what happened."""
    from contracts.envelope import parse_consumer_record

    parse = parse or parse_consumer_record
    schema = str(getattr(app, "name", service))
    rows = [r for r in _rows(settings, schema) if ref is None or r.ref == ref]
    kafka = KafkaConsumer(
        **kafka_access(settings).options(),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **(kafka_options or {}),
    )
    applied: list[str] = []
    failing: list[Held] = []
    try:
        for row in rows:
            try:
                record = _fetch(kafka, row.ref)
                inbound = parse(record)
                processing: ProcessingEvent[Any] = ProcessingEvent(
                    tracking=Tracking(f"retry:{row.ref}", int(record.offset))
                )
                with acting_as(reaction_context(service, inbound)):
                    processing.collect_events(*reactions.react(app, inbound))
                    app._record(processing)
                applied.append(row.ref)
            except IntegrityError:  # an earlier retry applied it
                applied.append(row.ref)
            except Exception as exc:
                if is_transient(exc):
                    raise
                failing.append(replace(row, reason=quarantine.reason_of(exc)))
    finally:
        kafka.close()
    with psycopg.connect(settings.database_url, autocommit=True) as conn, conn.cursor() as cur:
        quarantine.remove(cur, schema, SOURCE, applied)
        quarantine.add(cur, schema, service, failing)
    return {"retried": len(applied), "still_failing": len(failing)}


def _rows(settings: Settings, service: str) -> list[Held]:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        quarantine.ensure(conn, service)
        with conn.cursor() as cur:
            return quarantine.held(cur, service, SOURCE)


def _fetch(kafka: KafkaConsumer, ref: str) -> Any:
    topic, partition, offset = ref.rsplit(":", 2)
    where = TopicPartition(topic, int(partition))
    kafka.assign([where])
    kafka.seek(where, int(offset))
    for _ in range(20):
        for records in kafka.poll(timeout_ms=500, max_records=1).values():
            for record in records:
                if record.offset == int(offset):
                    return record
                raise LookupError(f"{ref} is no longer on its topic (next is {record.offset})")
    raise LookupError(f"{ref} could not be read from its topic")
