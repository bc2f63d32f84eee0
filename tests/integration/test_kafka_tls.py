"""A broker that takes TLS + SASL/SCRAM only: the relay, a consumer and dead letters get through.

The broker is the stack's own (`careledger stack up --infra-only --kafka-tls` in a private home,
keystore from keytool, SCRAM users created when the storage is formatted), sharing this
session's PostgreSQL. Every client connects with the settings `kafka_access` reads.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from psycopg import sql

from contracts.envelope import parse_consumer_record
from contracts.records import InboundRecord
from contracts.topics import DEADLETTER_TOPIC
from services.common.consumer.loop import Consumer
from services.common.kafka_access import KafkaAccess
from services.common.settings import Settings
from services.common.store.application import build_application
from services.stack.stack import executable, stack_kafka
from services.stack.state import kafka_libs_dir, read_stack_info
from services.stack.topics import admin_client
from tests.integration.support_consumer import TEST_KAFKA, Echo, app_class, echoed
from tests.integration.support_relay import (
    RelayWorld,
    make_world,
    publish_all,
    read_topic,
    store_probe_events,
)

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def _stack(command: str, home: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELEDGER_")}
    env.update(CARELEDGER_HOME=str(home), CARELEDGER_DATABASE_URL=database_url)
    if any(kafka_libs_dir().glob("*.jar")):
        env["CARELEDGER_KAFKA_LIBS"] = str(kafka_libs_dir())  # no second Maven download
    args = [executable(), "stack", command, *(["--infra-only", "--kafka-tls"] * (command == "up"))]
    return subprocess.run(
        args, capture_output=True, text=True, cwd=REPO, env=env, timeout=480, check=False
    )


@pytest.fixture(scope="module")
def tls_kafka(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaAccess]:
    home = tmp_path_factory.mktemp("tls-stack")
    try:
        up = _stack("up", home, database_url)
        assert up.returncode == 0, f"stack up failed:\n{up.stdout[-3000:]}\n{up.stderr[-2000:]}"
        yield stack_kafka(read_stack_info(home / "stack.json"))
    finally:
        _stack("down", home, database_url)


class EchoEveryRecord:
    """One Echo per probe event the relay published."""

    def __init__(self, topic: str) -> None:
        self.topics = (topic,)
        self.events = frozenset({"RelayProbeStarted", "RelayProbeRecorded"})

    def react(self, app: Any, record: InboundRecord) -> list[Any]:
        return [Echo(tenant=record.tenant, source_ce_id=record.ce_id)]


@pytest.fixture
def world(database_url: str, tls_kafka: KafkaAccess, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, tls_kafka, tmp_path)


@pytest.fixture
def echo_schema(database_url: str) -> Iterator[str]:
    name = f"cexact_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    build_application(
        app_class(name), Settings(env="dev", database_url=database_url), create_table=True
    ).close()
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def test_the_broker_refuses_clients_without_tls_and_scram(tls_kafka: KafkaAccess) -> None:
    assert tls_kafka.security_protocol == "SASL_SSL"
    assert tls_kafka.sasl_mechanism == "SCRAM-SHA-512"
    admin = admin_client(tls_kafka)
    try:
        assert DEADLETTER_TOPIC in admin.list_topics()
    finally:
        admin.close()
    for refused in (
        KafkaAccess(tls_kafka.bootstrap),
        dataclasses.replace(tls_kafka, sasl_password="not-the-password"),
    ):
        with pytest.raises(KafkaError):
            admin_client(refused, timeout_ms=3_000).list_topics()


def test_the_relay_and_a_consumer_work_through_tls_and_scram(
    world: RelayWorld, tls_kafka: KafkaAccess, database_url: str, echo_schema: str, tmp_path: Path
) -> None:
    app = world.app()
    total = store_probe_events(app, aggregates=5, events_each=4)
    app.close()
    publish_all(world, tmp_path / "relay.log", total, timeout=180)
    published = read_topic(tls_kafka, world.topic, world.registry)
    assert len(published) == total

    # One record the consumer cannot parse: its dead letter goes out through the same listener.
    producer = KafkaProducer(**tls_kafka.options())
    poison = producer.send(
        world.topic,
        key=b"x",
        value=b"{not json",
        headers=[("ce_type", b"careledger.relayprobe.RelayProbeRecorded.v1")],
    )
    where = poison.get(timeout=30)
    producer.close()

    echo_app = build_application(app_class(echo_schema), world.settings)
    consumer = Consumer(
        "tlsprobe",
        echo_app,
        EchoEveryRecord(world.topic),
        world.settings,
        parse=lambda r: parse_consumer_record(r, world.registry),
        group_id=f"test-tls-{uuid.uuid4().hex}",
        kafka_options=TEST_KAFKA,
    )
    try:
        deadline = time.monotonic() + 120
        while len(echoed(database_url, echo_schema)) < total and time.monotonic() < deadline:
            consumer.poll_once()
        while time.monotonic() < deadline and not _past(consumer, world.topic, where):
            consumer.poll_once()
    finally:
        consumer.close()
        echo_app.close()
    assert sorted(echoed(database_url, echo_schema)) == sorted(r.ce_id for r in published)
    [letter] = read_deadletters(tls_kafka, world.topic)
    assert letter["dl_offset"] == str(where.offset)
    assert letter["dl_service"] == "tlsprobe"


def _past(consumer: Consumer, topic: str, where: Any) -> bool:
    tracked = consumer.tracked_offset(topic, where.partition)
    return tracked is not None and tracked >= where.offset


def read_deadletters(kafka: KafkaAccess, topic: str) -> list[dict[str, str]]:
    """The headers of every dead letter of `topic`, read through the TLS listener."""
    reader = KafkaConsumer(
        **kafka.options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        consumer_timeout_ms=3_000,
    )
    try:
        partitions = reader.partitions_for_topic(DEADLETTER_TOPIC) or set()
        reader.assign([TopicPartition(DEADLETTER_TOPIC, p) for p in partitions])
        reader.seek_to_beginning()
        found = [{k: v.decode() for k, v in record.headers} for record in reader]
        return [headers for headers in found if headers.get("dl_topic") == topic]
    finally:
        reader.close()
