"""The consumer's positions, in memory: one write a poll and partition, idle ones, a broker away."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaConnectionError

from contracts.schemas import SchemaRegistry
from services.common.consumer.loop import Outcome, tracking_name
from services.common.store.application import CareApplication
from tests.unit.common.support_consumer import (
    TOPIC,
    EchoReactions,
    make_consumer,
    ping_record,
    stored_events,
)


class OneBatch:
    """Stands in for KafkaConsumer in `poll_once`: one poll's records, then nothing."""

    def __init__(self, records: list[Any]) -> None:
        self.batch: dict[Any, list[Any]] = {}
        for record in records:
            self.batch.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        self.hints: list[Any] = []

    def poll(self, timeout_ms: int) -> dict[Any, list[Any]]:
        batch, self.batch = self.batch, {}
        return batch

    def commit_async(self, offsets: Any) -> None:
        self.hints.append(offsets)


class CountingInserts:
    """Counts the recorder's transactions (each `insert_events` call is one)."""

    def __init__(self, app: CareApplication) -> None:
        self.calls = 0
        recorder = app.process_recorder
        original = recorder.insert_events

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        recorder.insert_events = counted  # type: ignore[method-assign]


def test_records_that_save_nothing_share_one_position_write_per_poll(
    registry: SchemaRegistry,
) -> None:
    consumer, app, _ = make_consumer(registry)
    inserts = CountingInserts(app)
    idle = [ping_record(registry, offset=o, n=0) for o in range(10, 20)]
    consumer._kafka = OneBatch([*idle, ping_record(registry, offset=3, n=0, partition=1)])
    assert consumer.poll_once() == 11
    assert inserts.calls == 2  # one per partition, not one per record
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 19
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 1)) == 3
    assert stored_events(app) == []


def test_a_record_that_saves_something_carries_the_earlier_idle_positions_with_it(
    registry: SchemaRegistry,
) -> None:
    consumer, app, _ = make_consumer(registry)
    inserts = CountingInserts(app)
    records = [ping_record(registry, offset=o, n=0) for o in range(5)]
    records.append(ping_record(registry, offset=5, n=7))
    consumer._kafka = OneBatch(records)
    consumer.poll_once()
    assert inserts.calls == 1  # the echo and offset 5 together; offsets 0-4 need no write
    assert [e.originator_version for e in stored_events(app)] == [1]
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 5
    # Delivered again (say after a crash before the poll ended): nothing is saved twice.
    consumer._kafka = OneBatch(records)
    consumer.poll_once()
    assert len(stored_events(app)) == 1


class PongReactions(EchoReactions):
    events = frozenset({"PongSent"})  # not the PingSent records these tests send


def test_a_record_of_an_event_the_reactions_do_not_read_is_passed_over_unparsed(
    registry: SchemaRegistry,
) -> None:
    consumer, app, letters = make_consumer(registry, PongReactions())
    consumer.parse = lambda record: pytest.fail("a passed-over record must not be parsed")
    assert consumer.handle(ping_record(registry, offset=9, n=3)) is Outcome.PROCESSED
    assert stored_events(app) == [] and letters.sent == []
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 9


def test_idle_positions_are_written_at_most_once_a_second_and_when_the_consumer_stops(
    registry: SchemaRegistry,
) -> None:
    consumer, app, _ = make_consumer(registry)
    inserts = CountingInserts(app)
    consumer._kafka = OneBatch([ping_record(registry, offset=1, n=0)])
    consumer.poll_once()  # the first poll writes its position
    for offset in (2, 3):
        consumer._kafka = OneBatch([ping_record(registry, offset=offset, n=0)])
        consumer.poll_once()
    assert inserts.calls == 1  # polls within the second wait
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 1
    consumer._flushed_at -= 1.0  # a second later
    consumer._kafka = OneBatch([ping_record(registry, offset=4, n=0)])
    consumer.poll_once()
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 4
    consumer._kafka = OneBatch([ping_record(registry, offset=5, n=0)])
    consumer.poll_once()
    consumer._kafka = None
    consumer.close()  # stopping writes what is noted
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 5


class BrokerGone(OneBatch):
    """kafka-python's `poll` while the broker is stopped: it raises, then the broker is back."""

    def __init__(self, records: list[Any], failures: int) -> None:
        super().__init__(records)
        self.failures = failures

    def poll(self, timeout_ms: int) -> dict[Any, list[Any]]:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("111 ECONNREFUSED")
        return super().poll(timeout_ms)


def test_a_broker_that_stops_answering_is_waited_for_and_each_record_is_saved_once_after(
    registry: SchemaRegistry,
) -> None:
    consumer, app, letters = make_consumer(registry)
    consumer._kafka = BrokerGone([ping_record(registry, offset=o, n=o + 1) for o in range(3)], 4)
    assert consumer.poll_once() == 3  # waited out four failed polls, then read the batch
    assert consumer.retries == 4 and consumer.broker_down_since is None
    assert [e.originator_version for e in stored_events(app)] == [1, 1, 1] and letters.sent == []
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 2


def test_a_consumer_stopped_while_the_broker_is_away_leaves_without_an_error(
    registry: SchemaRegistry,
) -> None:
    consumer, _app, _ = make_consumer(registry)
    consumer._kafka = BrokerGone([], failures=1_000_000)
    stopper = threading.Timer(0.5, consumer.stop)  # SIGTERM, while the backoff waits
    stopper.start()
    consumer.run()  # returns: no exception, however long the broker had been away
    stopper.join()
    assert consumer.retries >= 3 and consumer.broker_down_since is not None
