"""Poison on a topic never stops the consumer: dead-lettered, kept with the reason, retried.

Planted straight on the topic: a record that does not parse, and one whose reaction makes an
event the store cannot hold (U+0000 in the record's id). The consumer goes on with the rest;
each poison record is on the dead-letter topic and in the quarantine with its reason; after a
fix the retry applies the second exactly once (a second retry changes nothing), while the
first, still unparseable, stays.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from contracts.envelope import parse_consumer_record
from services.common.consumer.loop import Consumer
from services.common.consumer.quarantine import retry_deadletters
from services.common.quarantine import listing
from services.common.settings import Settings
from services.common.store.application import build_application
from tests.integration.support_consumer import (
    EchoReactions,
    app_class,
    echoed,
    ping,
    poll_until,
    schema,
    topic,
    write_registry,
)

__all__ = ["schema", "topic"]  # fixtures
pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def with_header(record: Any, name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(k, value if k == name else v) for k, v in record.headers]


def test_poison_on_a_topic_is_dead_lettered_kept_and_retried_after_a_fix(
    kafka_bootstrap: str, database_url: str, topic: str, schema: str, tmp_path: Path
) -> None:
    registry = write_registry(tmp_path)
    good = [ping(registry, n) for n in range(4)]
    nul_id = "ping-\x00-1"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    sent = [
        producer.send(
            topic, partition=0, key=good[0].key, value=good[0].value, headers=good[0].headers
        ),
        producer.send(topic, partition=0, key=b"x", value=b"{not json", headers=good[1].headers),
        producer.send(
            topic,
            partition=0,
            key=good[2].key,
            value=good[2].value,
            headers=with_header(good[2], "ce_id", nul_id.encode()),
        ),
        producer.send(
            topic, partition=0, key=good[3].key, value=good[3].value, headers=good[3].headers
        ),
    ]
    offsets = [future.get(timeout=10).offset for future in sent]
    producer.close()
    settings = Settings(env="dev", database_url=database_url, kafka_bootstrap=kafka_bootstrap)
    app = build_application(app_class(schema), settings)
    consumer = Consumer(
        "cexact",
        app,
        EchoReactions(topic),
        settings,
        parse=lambda r: parse_consumer_record(r, registry),
        group_id=f"test-{uuid.uuid4().hex}",
    )
    try:
        poll_until(
            consumer,
            lambda: consumer.tracked_offset(topic, 0) == offsets[-1],
            f"the consumer to record offset {offsets[-1]}, past both poison records",
        )
    finally:
        consumer.close()
    try:
        assert sorted(echoed(database_url, schema)) == sorted([good[0].ce_id, good[3].ce_id])
        rows = {row["position"]: row for row in listing(database_url, schema, "consumer")}
        assert sorted(rows) == [offsets[1], offsets[2]]
        assert rows[offsets[1]]["reason"].startswith(("JSONDecodeError", "ValueError"))
        assert "U+0000" in rows[offsets[2]]["reason"]
        assert rows[offsets[2]]["ref"] == f"{topic}:0:{offsets[2]}"

        def fixed(record: Any) -> Any:  # the fix: ids are cleaned as records are read
            parsed = parse_consumer_record(record, registry)
            clean = parsed.ce_id.replace("\x00", "")
            return replace(parsed, ce_id=clean, headers={**parsed.headers, "ce_id": clean})

        for _ in range(2):  # a second retry applies nothing twice
            done = retry_deadletters("cexact", app, EchoReactions(topic), settings, parse=fixed)
        assert done == {"retried": 0, "still_failing": 1}
        assert sorted(echoed(database_url, schema)) == sorted(
            [good[0].ce_id, good[3].ce_id, nul_id.replace("\x00", "")]
        )
        assert [row["position"] for row in listing(database_url, schema, "consumer")] == [
            offsets[1]
        ]
    finally:
        app.close()
