"""A record the topic cannot take stops the relay with exit 5 and its position, never a loop.

Either the relay sees it coming (the record is over the topic's `max.message.bytes`, read when
it connects) or the broker refuses it mid-transaction (the limit was lowered while the relay
ran): then the failed send futures abort the transaction, and no checkpoint ever passes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from services.common.context import CommandContext
from services.common.relay.kafka import read_checkpoint
from services.stack.topics import admin_client
from tests.integration.support_relay import (
    RelayProbe,
    RelayWorld,
    assert_exactly_once_in_order,
    make_world,
    read_topic,
    store_probe_events,
    wait_for_line,
    wait_until_published,
)

pytestmark = pytest.mark.integration
LIMIT = 20_000
EXIT_TOO_LARGE = 5


@pytest.fixture
def world(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, kafka_bootstrap, tmp_path)


def limit_topic(world: RelayWorld, max_bytes: int) -> None:
    admin = admin_client(world.settings.kafka_bootstrap)
    try:
        topic = ConfigResource(
            ConfigResourceType.TOPIC, world.topic, configs={"max.message.bytes": str(max_bytes)}
        )
        admin.alter_configs([topic])
    finally:
        admin.close()


def store_a_big_event(world: RelayWorld) -> int:
    """A valid event of ~90 KB (2,000 labels of 40 characters); returns its position."""
    app = world.app()
    try:
        probe = RelayProbe(tenant="t-relay")
        probe._recorded(n=1, security_labels=[f"label-{i:034d}" for i in range(2_000)])
        app.save_as(CommandContext(actor_id="u-1", actor_role="clinician", tenant="t-relay"), probe)
        position = int(app.recorder.max_notification_id())
        store_probe_events(app, aggregates=2, events_each=2)  # after it: never published
        return position
    finally:
        app.close()


def stored_before(world: RelayWorld, count: int) -> int:
    app = world.app()
    try:
        return store_probe_events(app, aggregates=count, events_each=3)
    finally:
        app.close()


def test_a_record_over_the_topics_limit_stops_the_relay_naming_its_position(
    world: RelayWorld, tmp_path: Path
) -> None:
    limit_topic(world, LIMIT)
    good = stored_before(world, 4)
    big = store_a_big_event(world)
    log = tmp_path / "relay.log"
    relay = world.start_relay(log)
    assert relay.wait(timeout=120) == EXIT_TOO_LARGE, log.read_text()[-2000:]
    assert f"stopped at position {big}" in log.read_text()
    position = read_checkpoint(
        world.settings.kafka_bootstrap, world.store, topic=world.checkpoint_topic
    )
    assert position == big - 1  # everything before it went out: the probe's creation too
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    assert_exactly_once_in_order(records, good + 1)


def test_a_record_the_broker_refuses_mid_transaction_is_never_passed_by_a_checkpoint(
    world: RelayWorld, tmp_path: Path
) -> None:
    good = stored_before(world, 4)
    log = tmp_path / "relay.log"
    relay = world.start_relay(log)
    try:
        wait_for_line(log, "resumes after")
        wait_until_published(world, good)
        limit_topic(world, LIMIT)  # the relay read the old limit: the broker must refuse it
        big = store_a_big_event(world)
        assert relay.wait(timeout=120) == EXIT_TOO_LARGE, log.read_text()[-2000:]
    finally:
        if relay.poll() is None:
            relay.kill()
    assert f"stopped at position {big}" in log.read_text()
    position = read_checkpoint(
        world.settings.kafka_bootstrap, world.store, topic=world.checkpoint_topic
    )
    assert position < big
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    assert_exactly_once_in_order(records, position)
