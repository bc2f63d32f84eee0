"""Read the topics (confluent-kafka, read_committed) and compare them with the stores.

Every stored event in `<svc>.<svc>_events` must be on `careledger.<svc>` (an access event on
`careledger.access`) exactly once, as the
record whose `ce_id` is `event_id(aggregate id, version)`, valid against its contract, with
headers that agree with the store (type, subject, sequence, position, tenant), in version order
per aggregate; and no record may be on Kafka that the store does not hold. Scoped to one tenant,
or to the whole store (`tenant=None`). The relay lags a little, so the check reads until the
store's events have all arrived or `timeout` passes.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from psycopg import sql

from contracts.envelope import event_id, parse_record
from contracts.records import META_KEY
from contracts.topics import ACCESS_TOPIC
from services.common.access.log import ACCESS_TYPE_PREFIX
from services.common.kafka_access import KafkaTarget, as_access
from services.common.settings import SERVICES

TOPICS = {service: f"careledger.{service}" for service in SERVICES}
READ_TOPICS = (*TOPICS.values(), ACCESS_TOPIC)  # access events share each service's store
STORED = sql.SQL(
    "SELECT originator_id::text, originator_version, topic, notification_id, "
    "coalesce(convert_from(state, 'UTF8')::jsonb #>> {tenant_path}, '') FROM {table}"
)
TENANT_PATH = sql.Literal("{" + META_KEY + ",tenant}")  # the tenant in the stored event's meta


@dataclass(frozen=True)
class Stored:
    service: str
    aggregate_id: str
    version: int
    topic: str  # stored event name, careledger.plan.FormatShifted
    position: int
    tenant: str

    @property
    def ce_id(self) -> str:
        return event_id(self.aggregate_id, self.version)

    @property
    def kafka_topic(self) -> str:
        """Where the relay publishes it: the service's topic, or the access topic."""
        is_access = self.topic.encode().startswith(ACCESS_TYPE_PREFIX)
        return ACCESS_TOPIC if is_access else TOPICS[self.service]


@dataclass(frozen=True)
class Seen:
    topic: str
    partition: int
    offset: int
    ce_id: str
    ce_type: str
    subject: str
    tenant: str
    sequence: int
    position: int
    labels: tuple[str, ...]
    body: dict[str, Any]
    problem: str = ""
    actor: str = ""


@dataclass
class KafkaReport:
    """The comparison, in ids and codes only."""

    tenant: str | None
    stored: int = 0
    on_kafka: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    records: dict[str, Seen] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        problems = (
            self.missing,
            self.extra,
            self.duplicates,
            self.invalid,
            self.mismatched,
            self.out_of_order,
        )
        return not any(problems)

    def summary(self) -> str:
        scope = f"tenant {self.tenant}" if self.tenant else "whole store"
        head = f"{scope}: {self.stored} stored, {self.on_kafka} on Kafka"
        if self.ok:
            return f"{head}, one for one, all valid ({self.seconds:.1f} s)"
        counts = {
            "missing": self.missing,
            "extra": self.extra,
            "duplicated": self.duplicates,
            "invalid": self.invalid,
            "mismatched": self.mismatched,
            "out of order": self.out_of_order,
        }
        return head + "; " + ", ".join(f"{len(v)} {k}" for k, v in counts.items() if v)


def read_store(database_url: str, tenant: str | None) -> dict[str, Stored]:
    """Every stored event of the three services (of one tenant), by ce_id."""
    found: dict[str, Stored] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        for service in SERVICES:
            table = sql.Identifier(service, f"{service}_events")
            for row in conn.execute(STORED.format(table=table, tenant_path=TENANT_PATH)).fetchall():
                item = Stored(service, row[0], int(row[1]), row[2], int(row[3]), row[4])
                if tenant is None or item.tenant == tenant:
                    found[item.ce_id] = item
    return found


class TopicReader:
    """All partitions of the topics from the beginning, read_committed, kept open."""

    def __init__(self, kafka: KafkaTarget) -> None:
        access = as_access(kafka)
        self.consumer = Consumer(
            access.librdkafka(
                **{
                    "group.id": "careledger-kafka-check",
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                    "enable.partition.eof": True,
                    "auto.offset.reset": "earliest",
                }
            )
        )
        meta = self.consumer.list_topics(timeout=10)
        partitions = []
        for topic in READ_TOPICS:
            if topic not in meta.topics:
                raise RuntimeError(
                    f"no topic {topic} on {access.bootstrap}: run `careledger db init`"
                )
            partitions += [
                TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.topics[topic].partitions
            ]
        self.consumer.assign(partitions)
        self.at_end = {(tp.topic, tp.partition): False for tp in partitions}
        self.records: list[Seen] = []

    def catch_up(self, timeout: float = 20.0) -> None:
        """Read until every partition has reported its end (or `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.consumer.poll(0.2)
            if message is None:
                if all(self.at_end.values()):
                    return
                continue
            where = (str(message.topic()), int(message.partition() or 0))
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self.at_end[where] = True
                    continue
                raise RuntimeError(f"Kafka error on {where}: {error}")
            self.at_end[where] = False
            self.records.append(_seen(message))

    def close(self) -> None:
        self.consumer.close()


def _seen(message: Any) -> Seen:
    headers = list(message.headers() or [])
    raw = {k: (v or b"").decode() for k, v in headers}
    problem, body = "", {}
    try:
        parsed = parse_record(
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
            key=message.key(),
            value=message.value() or b"",
            headers=headers,
        )
        body = dict(parsed.body)
    except Exception as exc:  # reported, not raised: the check lists every bad record
        problem = f"{type(exc).__name__}: {str(exc)[:200]}"
    if message.key() != raw.get("ce_subject", "").encode():
        problem = problem or "the key is not the aggregate id (ce_subject)"
    return Seen(
        topic=message.topic(),
        partition=message.partition(),
        offset=message.offset(),
        ce_id=raw.get("ce_id", ""),
        ce_type=raw.get("ce_type", ""),
        subject=raw.get("ce_subject", ""),
        tenant=raw.get("ce_tenant", ""),
        sequence=_int(raw.get("ce_sequence")),
        position=_int(raw.get("ce_position")),
        labels=tuple(x for x in raw.get("ce_sensitivity", "").split(",") if x),
        body=body,
        problem=problem,
        actor=raw.get("ce_actor", ""),
    )


def _int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return -1


def check_kafka(
    database_url: str, kafka: KafkaTarget, *, tenant: str | None = None, timeout: float = 60.0
) -> KafkaReport:
    """Compare the stores with the topics (see the module doc); waits for the relays' lag."""
    started = time.monotonic()
    reader = TopicReader(kafka)
    try:
        while True:
            stored = read_store(database_url, tenant)
            reader.catch_up()
            seen_ids = {r.ce_id for r in reader.records}
            if all(ce_id in seen_ids for ce_id in stored) or (time.monotonic() - started > timeout):
                break
            time.sleep(0.5)
        # Read the store again: an event published after the first read is stored, not extra.
        report = compare(read_store(database_url, tenant), stored, reader.records, tenant)
    finally:
        reader.close()
    report.seconds = time.monotonic() - started
    return report


def compare(
    stored_after: dict[str, Stored],
    stored_before: dict[str, Stored],
    records: list[Seen],
    tenant: str | None,
) -> KafkaReport:
    """The report for records read between two reads of the store."""
    in_scope = [r for r in records if tenant is None or r.tenant == tenant]
    report = KafkaReport(tenant, stored=len(stored_before), on_kafka=len(in_scope))
    counts = Counter(r.ce_id for r in in_scope)
    report.duplicates = sorted(ce_id for ce_id, n in counts.items() if n > 1)
    report.missing = sorted(ce_id for ce_id in stored_before if ce_id not in counts)
    report.extra = sorted(ce_id for ce_id in counts if ce_id not in stored_after)
    last: dict[str, int] = {}
    for record in sorted(in_scope, key=lambda r: (r.topic, r.partition, r.offset)):
        report.records.setdefault(record.ce_id, record)
        if record.problem:
            report.invalid.append(
                f"{record.topic}/{record.partition}@{record.offset} "
                f"{record.ce_type}: {record.problem}"
            )
        event = stored_after.get(record.ce_id)
        if event is not None:
            wrong = _mismatch(event, record)
            if wrong:
                report.mismatched.append(f"{record.ce_id}: {wrong}")
        if record.sequence <= last.get(record.subject, 0):
            report.out_of_order.append(
                f"{record.subject} v{record.sequence} after v{last[record.subject]}"
            )
        last[record.subject] = max(last.get(record.subject, 0), record.sequence)
    return report


def _mismatch(event: Stored, record: Seen) -> str:
    expected = {
        "topic": (event.kafka_topic, record.topic),
        "ce_type": (event.topic, record.ce_type.rsplit(".", 1)[0]),
        "ce_subject": (event.aggregate_id, record.subject),
        "ce_sequence": (event.version, record.sequence),
        "ce_position": (event.position, record.position),
        "ce_tenant": (event.tenant, record.tenant),
    }
    return ", ".join(f"{name} differs" for name, (want, got) in expected.items() if want != got)
