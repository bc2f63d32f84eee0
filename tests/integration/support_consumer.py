"""What the consumer tests share: a probe aggregate pair, its contract, a private store and topic.

Ping is the other service's event the consumer reads; Echo is what the reaction creates, one per
record, with a random id (a record processed twice would leave two Echoes, not a key clash).
Every test gets its own PostgreSQL schema and topic. Consumer subprocesses run this module
(`python -m tests.integration.support_consumer '<json config>'`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event
from kafka import KafkaProducer
from psycopg import sql

from contracts.envelope import build_record, parse_consumer_record
from contracts.records import META_KEY, InboundRecord
from contracts.schemas import SchemaRegistry
from contracts.topics import TopicSpec
from services.common.consumer.loop import Consumer, run_consumer
from services.common.events import name_events
from services.common.settings import Settings
from services.common.store.application import CareApplication, build_application
from services.stack.topics import admin_client, topic_request

PARTITIONS = 3
TEST_KAFKA = {"session_timeout_ms": 6_000, "heartbeat_interval_ms": 1_000}


class Ping(Aggregate):
    @event("PingSent")
    def __init__(self, tenant: str, n: int) -> None:
        self.tenant = tenant
        self.n = n


class Echo(Aggregate):
    """A random id on purpose: a record processed twice would leave two Echoes, not a clash."""

    @event("EchoCreated")
    def __init__(self, tenant: str, source_ce_id: str) -> None:
        self.tenant = tenant
        self.source_ce_id = source_ce_id


name_events("cexact", Ping, Echo)


class EchoReactions:
    """One new Echo per record, naming the record's ce_id."""

    def __init__(self, topic: str, delay_s: float = 0.0) -> None:
        self.topics: Sequence[str] = (topic,)
        self.events = frozenset({"PingSent"})
        self.delay_s = delay_s

    def react(self, app: Any, record: InboundRecord) -> list[Any]:
        if self.delay_s:
            time.sleep(self.delay_s)
        return [Echo(tenant=record.tenant, source_ce_id=record.ce_id)]


def app_class(schema: str) -> type[CareApplication]:
    return type(f"EchoApp_{schema}", (CareApplication,), {"name": schema})


def write_registry(root: Path) -> SchemaRegistry:
    properties = {
        "id": {"type": "string"},
        "version": {"type": "integer"},
        "timestamp": {"type": "string"},
        "tenant": {"type": "string"},
        "n": {"type": "integer"},
    }
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }
    (root / "cexact").mkdir(parents=True, exist_ok=True)
    (root / "cexact" / "PingSent.v1.json").write_text(json.dumps(schema))
    return SchemaRegistry(root)


def ping(registry: SchemaRegistry, n: int) -> Any:
    state = {
        "tenant": "practice-1",
        "n": n,
        "timestamp": dt.datetime.now(dt.UTC),
        META_KEY: {
            "actor_id": "u1",
            "actor_role": "clinician",
            "tenant": "practice-1",
            "correlation_id": str(uuid.uuid4()),
            "causation_id": None,
        },
    }
    return build_record(
        stored_topic="careledger.cexact.PingSent",
        aggregate_id=uuid.uuid4(),
        version=1,
        position=n + 1,
        state=state,
        registry=registry,
    )


def worker(config: dict[str, Any]) -> None:
    """The consumer process the crash test starts and kills."""
    settings = Settings(
        env="dev", database_url=config["database_url"], kafka_bootstrap=config["bootstrap"]
    )
    app = build_application(app_class(config["schema"]), settings)
    registry = SchemaRegistry(Path(config["registry"]))
    try:
        run_consumer(
            "cexact",
            app,
            EchoReactions(config["topic"], config.get("delay_s", 0.0)),
            settings,
            parse=lambda r: parse_consumer_record(r, registry),
            group_id=config["group"],
            kafka_options=TEST_KAFKA,
        )
    finally:
        app.close()


PAST_SECONDS = 300  # generous: a loaded machine is slow, a consumer that is stuck never gets there


def poll_until(consumer: Consumer, done: Callable[[], object], what: str) -> None:
    """Drive `consumer` until `done()` holds; fail saying `what` did not happen after PAST_SECONDS.

    Waits on the condition itself (checked after every poll), never on a fixed time that a
    loaded machine can overrun.
    """
    deadline = time.monotonic() + PAST_SECONDS
    while not done():
        assert time.monotonic() < deadline, (
            f"{what}: not after {PAST_SECONDS} s ({consumer.counts})"
        )
        consumer.poll_once()


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def topic(kafka_bootstrap: str) -> Iterator[str]:
    name = f"test.consumer.{uuid.uuid4().hex[:12]}"
    admin = admin_client(kafka_bootstrap)
    try:
        admin.create_topics(
            {name: topic_request(TopicSpec(name, PARTITIONS), 1)}, wait_for_metadata=True
        )
        yield name
        admin.delete_topics([name])
    finally:
        admin.close()


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    name = f"cexact_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    settings = Settings(env="dev", database_url=database_url)
    build_application(app_class(name), settings, create_table=True).close()
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def produce(bootstrap: str, topic: str, records: list[Any], batch: int = 250) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=uuid.uuid4().hex)
    try:
        producer.init_transactions()
        for start in range(0, len(records), batch):
            producer.begin_transaction()
            for r in records[start : start + batch]:
                producer.send(topic, key=r.key, value=r.value, headers=r.headers)
            producer.commit_transaction()
    finally:
        producer.close()


def stored_count(database_url: str, schema: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(f"{schema}_events")
    )
    with psycopg.connect(database_url) as conn:
        row = conn.execute(query).fetchone()
        return int(row[0]) if row else 0


def echoed(database_url: str, schema: str) -> list[str]:
    """The ce_id each stored Echo names, one entry per stored event."""
    query = sql.SQL("SELECT state FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(f"{schema}_events")
    )
    with psycopg.connect(database_url) as conn:
        return [json.loads(bytes(row[0]))["source_ce_id"] for row in conn.execute(query)]


def start_worker(config: dict[str, Any]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.support_consumer", json.dumps(config)],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


if __name__ == "__main__":
    worker(json.loads(sys.argv[1]))
