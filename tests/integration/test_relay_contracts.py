"""The relay on the real broker: partitions as Kafka's default partitioner picks them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.integration.support_relay import (
    RelayWorld,
    make_world,
    publish_all,
    read_topic,
    store_probe_events,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def world(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, kafka_bootstrap, tmp_path)


def test_relay_puts_each_aggregate_on_the_partition_kafkas_default_partitioner_picks(
    world: RelayWorld, tmp_path: Path
) -> None:
    app = world.app()
    try:
        total = store_probe_events(app, aggregates=20, events_each=2)
    finally:
        app.close()
    publish_all(world, tmp_path / "relay.log", total)
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    producer = KafkaProducer(bootstrap_servers=world.settings.kafka_bootstrap)
    try:
        for record in records:  # where would a plain producer put this key?
            sent = producer.send(world.topic, key=record.subject.encode(), value=b"{}")
            assert sent.get(timeout=30).partition == record.partition, record.subject
    finally:
        producer.close()
