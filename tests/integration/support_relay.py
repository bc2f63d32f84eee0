"""What the relay tests share: a probe aggregate, its contracts, a private store and topics.

Every test gets its own PostgreSQL schema (so its notification log holds only its events), its
own event and checkpoint topics and its own transactional id: nothing it does touches the shared
`careledger.*` topics or another test's data. Relay subprocesses import this module by name
(`--import tests.integration.support_relay`) to resolve the probe's stored event names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.domain import Aggregate, event
from kafka import KafkaConsumer

from contracts.envelope import parse_consumer_record
from contracts.records import InboundRecord
from contracts.schemas import SchemaRegistry
from contracts.topics import TopicSpec
from services.common.context import CommandContext
from services.common.events import name_events, published
from services.common.kafka_access import KafkaTarget, as_access, kafka_access
from services.common.relay.kafka import read_checkpoint
from services.common.settings import KAFKA_MAX_MESSAGE_BYTES, Settings, load_settings
from services.common.store.application import CareApplication, build_application
from services.stack.topics import admin_client, topic_request

REPO = Path(__file__).resolve().parents[2]
CARELEDGER = str(Path(sys.executable).with_name("careledger"))  # the console script, this venv
PROBE_SERVICE = "relayprobe"
EVENTS_EACH = 10


class RelayProbe(Aggregate):
    """A test-only aggregate: a counter whose events carry a data-dependent label."""

    @event("RelayProbeStarted")
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.count = 0

    def record(self, n: int) -> None:
        self._recorded(n=n, security_labels=["PSY"] if n % 2 else [])

    @published(labels=["R"])
    @event("RelayProbeRecorded")
    def _recorded(self, n: int, security_labels: list[str]) -> None:
        self.count = n


name_events(PROBE_SERVICE, RelayProbe)

_BASE = {
    "id": {"type": "string", "format": "uuid"},
    "version": {"type": "integer", "minimum": 1},
    "timestamp": {"type": "string", "format": "date-time"},
}
PROBE_SCHEMAS: dict[str, dict[str, Any]] = {
    "RelayProbeStarted.v1.json": {"properties": {**_BASE, "tenant": {"type": "string"}}},
    "RelayProbeRecorded.v1.json": {
        "properties": {
            **_BASE,
            "n": {"type": "integer"},
            "security_labels": {"type": "array", "items": {"type": "string"}},
        }
    },
}


def write_probe_schemas(
    root: Path, schemas: dict[str, dict[str, Any]] = PROBE_SCHEMAS
) -> SchemaRegistry:
    folder = root / PROBE_SERVICE
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        document = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": False,
            "required": sorted(schema["properties"]),
            **schema,
        }
        (folder / name).write_text(json.dumps(document, indent=2))
    return SchemaRegistry(root)


@dataclass
class RelayWorld:
    """One test's private store schema, topics, transactional id and schema root."""

    settings: Settings
    store: str  # PostgreSQL schema = application name
    topic: str
    checkpoint_topic: str
    transactional_id: str
    access_topic: str
    schema_root: Path
    registry: SchemaRegistry

    def app(self) -> Any:
        cls = type("ProbeApp", (CareApplication,), {"name": self.store})
        return build_application(cls, self.settings, create_table=True)

    def relay_argv(self, *extra: str) -> list[str]:
        """`careledger relay` for this world's store, topics and schemas, then `extra`."""
        return [
            CARELEDGER,
            "relay",
            self.store,
            "--topic",
            self.topic,
            "--transactional-id",
            self.transactional_id,
            "--checkpoint-topic",
            self.checkpoint_topic,
            "--checkpoint-key",
            self.store,
            "--access-topic",
            self.access_topic,
            "--schemas",
            str(self.schema_root),
            "--import",
            __name__,
            *extra,
        ]

    def env(self) -> dict[str, str]:
        """The environment a relay process of this world runs with."""
        return {
            **os.environ,
            "CARELEDGER_ENV": "dev",
            "CARELEDGER_DATABASE_URL": self.settings.database_url,
            **kafka_access(self.settings).environment(),
            "PYTHONPATH": str(REPO),
        }

    def start_relay(self, log: Path, *extra: str) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                self.relay_argv(*extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(),
                cwd=REPO,
            )


def make_world(
    database_url: str,
    kafka: KafkaTarget,
    tmp: Path,
    max_message_bytes: int = KAFKA_MAX_MESSAGE_BYTES,
) -> Iterator[RelayWorld]:
    """Create the private schema and topics (records up to `max_message_bytes`); drop them after."""
    suffix = uuid.uuid4().hex[:10]
    store = f"relayprobe_{suffix}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {store}")
    topic, checkpoints = f"test.relay.{suffix}", f"test.relay-checkpoints.{suffix}"
    access = f"test.relay-access.{suffix}"  # fewer partitions than the event topic, on purpose
    admin = admin_client(kafka)
    try:
        admin.create_topics(
            {
                topic: topic_request(TopicSpec(topic, 6), 1, max_message_bytes),
                access: topic_request(TopicSpec(access, 2), 1, max_message_bytes),
                checkpoints: topic_request(TopicSpec(checkpoints, 1, cleanup_policy="compact"), 1),
            },
            wait_for_metadata=True,
        )
        reach = as_access(kafka).settings()
        settings = load_settings(
            database_url=database_url, env="dev", kafka_max_message_bytes=max_message_bytes, **reach
        )
        yield RelayWorld(
            settings=settings,
            store=store,
            topic=topic,
            checkpoint_topic=checkpoints,
            transactional_id=f"test-relay-{suffix}",
            access_topic=access,
            schema_root=tmp / "schemas",
            registry=write_probe_schemas(tmp / "schemas"),
        )
        admin.delete_topics([topic, access, checkpoints])
    finally:
        admin.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {store} CASCADE")


def store_probe_events(app: Any, *, aggregates: int, events_each: int, per_save: int = 50) -> int:
    """Store `aggregates` x `events_each` events, many aggregates per transaction."""
    ctx = CommandContext(actor_id="u-relay-test", actor_role="clinician", tenant="t-relay")
    probes = [RelayProbe(tenant=ctx.tenant) for _ in range(aggregates)]
    for probe in probes:
        for n in range(1, events_each):
            probe.record(n)
    for i in range(0, aggregates, per_save):
        app.save_as(ctx, *probes[i : i + per_save])
    return aggregates * events_each


def read_topic(kafka: KafkaTarget, topic: str, registry: SchemaRegistry) -> list[InboundRecord]:
    """Every committed record of `topic`, parsed and validated against its contract."""
    consumer = KafkaConsumer(
        topic,
        **as_access(kafka).options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=4_000,
    )
    try:
        return [parse_consumer_record(r, registry) for r in consumer]
    finally:
        consumer.close()


def committed_position(world: RelayWorld, *, settle: bool = True) -> int:
    """The relay's committed position; `settle=False` reads past no open transaction (one that
    cannot end while a partition is offline would otherwise hold the read)."""
    return read_checkpoint(
        kafka_access(world.settings), world.store, topic=world.checkpoint_topic, settle=settle
    )


def wait_until_published(world: RelayWorld, position: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while committed_position(world) < position:
        assert time.monotonic() < deadline, f"relay did not reach position {position}"
        time.sleep(0.5)


def publish_all(world: RelayWorld, log: Path, position: int, timeout: float = 90) -> None:
    """Run a relay until everything up to `position` is on the topic, then stop it."""
    relay = world.start_relay(log)
    try:
        wait_until_published(world, position, timeout=timeout)
    finally:
        relay.terminate()
        relay.wait(timeout=30)


def wait_for_line(log: Path, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not (log.exists() and text in log.read_text()):
        assert time.monotonic() < deadline, f"{log.name} never said {text!r}"
        time.sleep(0.2)


def assert_exactly_once_in_order(records: list[InboundRecord], total: int) -> None:
    ids = [r.ce_id for r in records]
    assert len(set(ids)) == total, f"{total - len(set(ids))} events missing"
    assert len(ids) == total, f"{len(ids) - len(set(ids))} records published twice"
    versions: dict[str, list[int]] = defaultdict(list)
    for record in records:  # a key's records share a partition, so this is their log order
        versions[record.subject].append(int(record.headers["ce_sequence"]))
    for subject, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"{subject} out of order: {seen}"
