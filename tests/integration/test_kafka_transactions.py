"""Kafka transactions on the real broker: read_committed readers never see aborted records."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from contracts.topics import EVENT_TOPICS, RELAY_CHECKPOINTS, TopicSpec
from services.stack.topics import admin_client, replication_for, topic_request

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(kafka_bootstrap: str) -> Iterator[str]:
    name = f"test.tx.{uuid.uuid4().hex[:12]}"
    admin = admin_client(kafka_bootstrap)
    try:
        admin.create_topics({name: topic_request(TopicSpec(name, 1), 1)}, wait_for_metadata=True)
        yield name
        admin.delete_topics([name])
    finally:
        admin.close()


def _read_all(bootstrap: str, topic: str, isolation: str) -> list[bytes]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level=isolation,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3_000,
    )
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        return [record.value for record in consumer]
    finally:
        consumer.close()


def test_read_committed_consumer_sees_committed_records_and_never_aborted_ones(
    kafka_bootstrap: str, topic: str
) -> None:
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"test-{uuid.uuid4().hex}"
    )
    try:
        producer.init_transactions()
        producer.begin_transaction()
        committed = [f"committed-{i}".encode() for i in range(5)]
        for value in committed:
            producer.send(topic, value=value, key=b"agg-1")
        producer.commit_transaction()

        producer.begin_transaction()
        aborted = [f"aborted-{i}".encode() for i in range(3)]
        for value in aborted:
            producer.send(topic, value=value, key=b"agg-1")
        producer.flush()
        producer.abort_transaction()

        producer.begin_transaction()
        producer.send(topic, value=b"committed-after-abort", key=b"agg-1")
        producer.commit_transaction()
    finally:
        producer.close()

    seen = _read_all(kafka_bootstrap, topic, "read_committed")
    assert seen == [*committed, b"committed-after-abort"]
    assert not set(aborted) & set(seen)
    # The aborted records did reach the log: only the isolation level hides them.
    assert set(aborted) <= set(_read_all(kafka_bootstrap, topic, "read_uncommitted"))


def test_event_topics_keep_events_forever_and_are_never_compacted(kafka_bootstrap: str) -> None:
    names = [s.name for s in EVENT_TOPICS]
    admin = admin_client(kafka_bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics(names)}
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
        configs = admin.describe_configs(resources)["topic"]
    finally:
        admin.close()
    for spec in EVENT_TOPICS:
        assert len(described[spec.name]["partitions"]) == spec.partitions
        topic_configs = {k: v["value"] for k, v in configs[spec.name].items()}
        assert topic_configs["cleanup.policy"] == "delete"
        assert topic_configs["retention.ms"] == "-1"
        assert topic_configs["retention.bytes"] == "-1"


def test_relay_checkpoint_topic_is_compacted(kafka_bootstrap: str) -> None:
    admin = admin_client(kafka_bootstrap)
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, RELAY_CHECKPOINTS.name)
        configs = admin.describe_configs([resource])["topic"][RELAY_CHECKPOINTS.name]
    finally:
        admin.close()
    assert configs["cleanup.policy"]["value"] == "compact"


def test_replication_follows_the_broker_count() -> None:
    assert replication_for(1) == (1, 1)
    assert replication_for(3) == (3, 2)
    assert replication_for(5) == (3, 2)


def test_service_schemas_exist_in_postgresql(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ANY(%s)",
            (["plan", "consent", "referral"],),
        ).fetchall()
    assert {r[0] for r in rows} == {"plan", "consent", "referral"}
