"""The consumer's record handling, in memory: exactly once in effect, dead letters, retries."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import OperationalError
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaConnectionError

from contracts.envelope import build_record, parse_consumer_record
from contracts.records import META_KEY, InboundRecord
from contracts.schemas import SchemaRegistry
from services.common.consumer.deadletter import deadletter_headers
from services.common.consumer.loop import Consumer, Outcome, tracking_name
from services.common.errors import RuleBroken
from services.common.events import name_events
from services.common.settings import Settings
from services.common.store.application import CareApplication, build_application

TOPIC = "careledger.cunit"
ECHO_IDS = uuid.UUID("6f1f3c2e-7d4b-4c55-9a9e-0e4f2b1c7a10")


class Ping(Aggregate):
    """The other service's aggregate whose events the consumer reads."""

    @event("PingSent")
    def __init__(self, tenant: str, n: int) -> None:
        self.tenant = tenant
        self.n = n


class Echo(Aggregate):
    """What the reacting service creates: one per record, id derived from the record's ce_id."""

    @staticmethod
    def create_id(source_ce_id: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(ECHO_IDS, source_ce_id)

    @event("EchoCreated")
    def __init__(self, tenant: str, source_ce_id: str, n: int) -> None:
        self.tenant = tenant
        self.source_ce_id = source_ce_id
        self.n = n


name_events("cunit", Ping, Echo)


EchoApp = type("EchoApp", (CareApplication,), {"name": "cunit"})


class EchoReactions:
    topics: Sequence[str] = (TOPIC,)
    events = frozenset({"PingSent"})

    def __init__(self, transient_failures: int = 0) -> None:
        self.transient_failures = transient_failures

    def react(self, app: Any, record: InboundRecord) -> list[Any]:
        if self.transient_failures:
            self.transient_failures -= 1
            raise OperationalError("database went away")
        if record.body["n"] < 0:
            raise RuleBroken("n must not be negative", errors={"n": "negative"})
        if record.body["n"] == 0:
            return []
        return [Echo(tenant=record.tenant, source_ce_id=record.ce_id, n=record.body["n"])]


class ListDeadLetters:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, str]] = []

    def send(self, record: Any, reason: str) -> None:
        self.sent.append((record, reason))

    def close(self) -> None:
        pass


@pytest.fixture
def registry(tmp_path: Path) -> SchemaRegistry:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "version": {"type": "integer"},
            "timestamp": {"type": "string"},
            "tenant": {"type": "string"},
            "n": {"type": "integer"},
        },
        "required": ["id", "version", "timestamp", "tenant", "n"],
        "additionalProperties": False,
    }
    (tmp_path / "cunit").mkdir()
    (tmp_path / "cunit" / "PingSent.v1.json").write_text(json.dumps(schema))
    return SchemaRegistry(tmp_path)


def ping_record(registry: SchemaRegistry, offset: int, n: int, *, partition: int = 0) -> Any:
    ping_id = uuid.uuid4()
    state = {
        "tenant": "practice-1",
        "n": n,
        "timestamp": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        META_KEY: {
            "actor_id": "u1",
            "actor_role": "clinician",
            "tenant": "practice-1",
            "correlation_id": "corr-1",
            "causation_id": None,
        },
    }
    out = build_record(
        stored_topic="careledger.cunit.PingSent",
        aggregate_id=ping_id,
        version=1,
        position=offset + 1,
        state=state,
        registry=registry,
    )
    return ConsumerRecord(
        TOPIC, partition, -1, offset, 0, 0, out.key, out.value, out.headers, None, 0, 0, 0
    )


def make_consumer(
    registry: SchemaRegistry, reactions: EchoReactions | None = None
) -> tuple[Consumer, CareApplication, ListDeadLetters]:
    app: CareApplication = build_application(EchoApp, None)
    letters = ListDeadLetters()
    consumer = Consumer(
        "cunit",
        app,
        reactions or EchoReactions(),
        Settings(env="dev"),
        parse=lambda r: parse_consumer_record(r, registry),
        deadletters=letters,
        max_backoff_s=0.01,
    )
    return consumer, app, letters


def stored_events(app: CareApplication) -> list[Any]:
    return list(app.recorder.select_notifications(start=1, limit=1_000))


def test_a_record_is_saved_with_its_position_in_one_transaction(registry: SchemaRegistry) -> None:
    consumer, app, _ = make_consumer(registry)
    assert consumer.handle(ping_record(registry, offset=7, n=3)) is Outcome.PROCESSED
    assert len(stored_events(app)) == 1
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 7


def test_the_same_offset_delivered_again_is_skipped_as_a_duplicate(
    registry: SchemaRegistry,
) -> None:
    consumer, app, _ = make_consumer(registry)
    record = ping_record(registry, offset=7, n=3)
    consumer.handle(record)
    assert consumer.handle(record) is Outcome.DUPLICATE
    assert len(stored_events(app)) == 1


def test_a_record_the_reaction_ignores_still_moves_the_position_on(
    registry: SchemaRegistry,
) -> None:
    consumer, app, _ = make_consumer(registry)
    assert consumer.handle(ping_record(registry, offset=4, n=0)) is Outcome.PROCESSED
    assert stored_events(app) == []
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 4


def test_events_of_a_reaction_name_the_consumer_as_actor_and_the_record_as_cause(
    registry: SchemaRegistry,
) -> None:
    consumer, app, _ = make_consumer(registry)
    record = ping_record(registry, offset=0, n=2)
    consumer.handle(record)
    ce_id = dict(record.headers)["ce_id"].decode()
    [history] = app.history_records(uuid.uuid5(ECHO_IDS, ce_id))
    assert history["meta"] == {
        "actor_id": "cunit-consumer",
        "actor_role": "system",
        "tenant": "practice-1",
        "correlation_id": "corr-1",
        "causation_id": ce_id,
    }


def test_a_record_that_breaks_its_contract_goes_to_the_deadletter_and_the_partition_moves_on(
    registry: SchemaRegistry,
) -> None:
    consumer, app, letters = make_consumer(registry)
    good = ping_record(registry, offset=5, n=1)
    bad = good._replace(value=json.dumps({"n": "not a number"}).encode())
    assert consumer.handle(bad) is Outcome.DEADLETTERED
    [(sent, reason)] = letters.sent
    assert sent is bad
    assert reason.startswith("ContractViolation")
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 5
    assert stored_events(app) == []


def test_a_record_without_a_tenant_goes_to_the_deadletter(registry: SchemaRegistry) -> None:
    consumer, app, letters = make_consumer(registry)
    record = ping_record(registry, offset=6, n=1)
    untenanted = record._replace(headers=[(k, v) for k, v in record.headers if k != "ce_tenant"])
    assert consumer.handle(untenanted) is Outcome.DEADLETTERED
    assert letters.sent[0][1] == "ValueError: the record has no ce_tenant header"
    assert stored_events(app) == []


def test_a_reaction_that_breaks_a_rule_sends_the_record_to_the_deadletter_with_the_reason(
    registry: SchemaRegistry,
) -> None:
    consumer, _, letters = make_consumer(registry)
    assert consumer.handle(ping_record(registry, offset=2, n=-1)) is Outcome.DEADLETTERED
    assert letters.sent[0][1] == "RuleBroken: n must not be negative"
    assert consumer.handle(ping_record(registry, offset=3, n=1)) is Outcome.PROCESSED


def test_a_database_outage_during_a_reaction_is_retried_not_deadlettered(
    registry: SchemaRegistry,
) -> None:
    consumer, app, letters = make_consumer(registry, EchoReactions(transient_failures=2))
    assert consumer.handle(ping_record(registry, offset=0, n=1)) is Outcome.PROCESSED
    assert letters.sent == []
    assert len(stored_events(app)) == 1


class SameEchoReactions(EchoReactions):
    """A buggy reaction: every record creates the same Echo, so the second one always clashes."""

    def react(self, app: Any, record: InboundRecord) -> list[Any]:
        return [Echo(tenant=record.tenant, source_ce_id="always-the-same", n=1)]


def test_a_reaction_that_keeps_conflicting_goes_to_the_deadletter_instead_of_blocking(
    registry: SchemaRegistry,
) -> None:
    consumer, app, letters = make_consumer(registry, SameEchoReactions())
    assert consumer.handle(ping_record(registry, offset=0, n=1)) is Outcome.PROCESSED
    assert consumer.handle(ping_record(registry, offset=1, n=1)) is Outcome.DEADLETTERED
    assert letters.sent[0][1] == "Conflict: the reaction's aggregates conflicted 5 times"
    assert app.process_recorder.max_tracking_id(tracking_name(TOPIC, 0)) == 1


def test_deadletter_headers_keep_the_original_headers_and_add_where_from_and_why(
    registry: SchemaRegistry,
) -> None:
    record = ping_record(registry, offset=9, n=1, partition=4)
    headers = deadletter_headers(record, service="cunit", reason="RuleBroken: x")
    assert headers[: len(record.headers)] == list(record.headers)
    assert dict(headers)["dl_reason"] == b"RuleBroken: x"
    assert dict(headers)["dl_topic"] == TOPIC.encode()
    assert dict(headers)["dl_partition"] == b"4"
    assert dict(headers)["dl_offset"] == b"9"
    assert dict(headers)["dl_service"] == b"cunit"


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
