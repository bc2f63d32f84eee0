"""A record that breaks its contract stops the relay: it is a bug, never skipped silently."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from services.common.context import CommandContext
from tests.integration.test_relay_support import (
    RelayProbe,
    RelayWorld,
    make_world,
    read_topic,
    store_probe_events,
    wait_until_published,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def world(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, kafka_bootstrap, tmp_path)


def test_relay_stops_with_a_clear_error_at_an_event_that_breaks_its_contract(
    world: RelayWorld, tmp_path: Path
) -> None:
    app = world.app()
    try:
        good = store_probe_events(app, aggregates=3, events_each=4)
        probe = RelayProbe(tenant="t-relay")
        probe._recorded(n="Jane Doe", security_labels=[])  # a bug: n must be an integer
        app.save_as(CommandContext(actor_id="u-1", actor_role="clinician", tenant="t-relay"), probe)
        store_probe_events(app, aggregates=1, events_each=2)  # stored after the bad one
    finally:
        app.close()
    log = tmp_path / "relay.log"
    relay = world.start_relay(log, "--batch-size", "1")  # so all before the bad one goes out
    assert relay.wait(timeout=60) == 4, log.read_text()[-3000:]
    text = log.read_text()
    assert "careledger.relayprobe.RelayProbeRecorded.v1 does not match its contract" in text
    assert "n: fails 'type'" in text
    assert "Jane Doe" not in text  # values may be PHI: never logged
    wait_until_published(world, good + 1)  # everything before it: the good ones, the creation
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    assert len(records) == good + 1


def test_relay_puts_each_aggregate_on_the_partition_kafkas_default_partitioner_picks(
    world: RelayWorld, tmp_path: Path
) -> None:
    app = world.app()
    try:
        total = store_probe_events(app, aggregates=20, events_each=2)
    finally:
        app.close()
    relay = world.start_relay(tmp_path / "relay.log")
    try:
        wait_until_published(world, total)
    finally:
        relay.terminate()
        relay.wait(timeout=30)
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    producer = KafkaProducer(bootstrap_servers=world.settings.kafka_bootstrap)
    try:
        for record in records:  # where would a plain producer put this key?
            sent = producer.send(world.topic, key=record.subject.encode(), value=b"{}")
            assert sent.get(timeout=30).partition == record.partition, record.subject
    finally:
        producer.close()
