"""The record limit on save is the topics' own: `db init` creates them with it, saves obey it.

A world's topics are made at a small CARELEDGER_KAFKA_MAX_MESSAGE_BYTES (16 KiB) the way
`db init` makes careledger's; an event whose record could be over it is refused when saved
(413, naming the limit, nothing stored), and the largest one accepted goes through the relay
onto the topic: the limit that refuses and the limit the broker applies cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.context import CommandContext
from services.common.errors import TooLarge
from services.common.relay.kafka import topic_limits
from tests.integration.support_relay import (
    RelayProbe,
    RelayWorld,
    make_world,
    publish_all,
    read_topic,
)

pytestmark = pytest.mark.integration
LIMIT = 16_384
CTX = CommandContext(actor_id="u-1", actor_role="clinician", tenant="t-limit")


@pytest.fixture
def world(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, kafka_bootstrap, tmp_path, max_message_bytes=LIMIT)


def test_an_event_whose_record_the_topic_cannot_take_is_refused_and_the_largest_taken_is_published(
    world: RelayWorld, tmp_path: Path
) -> None:
    found = topic_limits(world.settings.kafka_bootstrap, [world.topic, world.access_topic])
    assert found == {world.topic: LIMIT, world.access_topic: LIMIT}
    allowed = world.settings.max_event_bytes
    app = world.app()
    try:
        with pytest.raises(TooLarge) as refused:  # its record would be over the topic's limit
            app.save_as(CTX, RelayProbe(tenant="x" * LIMIT))
        assert refused.value.status == 413
        assert f"over the {allowed}" in str(refused.value)
        assert "max.message.bytes" in str(refused.value)
        assert app.recorder.max_notification_id() in (None, 0)  # nothing stored
        largest = RelayProbe(tenant="y" * (allowed - 400))  # ~allowed once stored
        app.save_as(CTX, largest)
        position = int(app.recorder.max_notification_id())
    finally:
        app.close()
    publish_all(world, tmp_path / "relay.log", position)
    [record] = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    assert record.subject == str(largest.id)
    assert len(record.body["tenant"]) == allowed - 400
