"""The consumer's record handling, in memory: exactly once in effect, dead letters, retries."""

from __future__ import annotations

import json
import uuid
from typing import Any

from contracts.records import InboundRecord
from contracts.schemas import SchemaRegistry
from services.common.consumer.deadletter import deadletter_headers
from services.common.consumer.loop import Outcome, tracking_name
from tests.unit.common.support_consumer import (
    ECHO_IDS,
    TOPIC,
    Echo,
    EchoReactions,
    make_consumer,
    ping_record,
    stored_events,
)


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
