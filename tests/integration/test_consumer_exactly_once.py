"""The consumer on the real stack: exactly once in effect through SIGKILLs, and dead letters."""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from contracts.envelope import parse_consumer_record
from contracts.topics import DEADLETTER_TOPIC
from services.common.consumer.loop import Consumer, Outcome
from services.common.settings import Settings
from services.common.store.application import build_application
from tests.integration.support_consumer import (
    TEST_KAFKA,
    EchoReactions,
    app_class,
    echoed,
    ping,
    poll_until,
    produce,
    schema,
    start_worker,
    stored_count,
    topic,
    write_registry,
)

__all__ = ["schema", "topic"]  # fixtures
N_RECORDS = 2_000
KILLS = 6


# -- tests ---------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_record_takes_effect_exactly_once_although_the_consumer_is_killed_repeatedly(
    kafka_bootstrap: str, database_url: str, topic: str, schema: str, tmp_path: Path
) -> None:
    registry = write_registry(tmp_path)
    records = [ping(registry, n) for n in range(N_RECORDS)]
    produce(kafka_bootstrap, topic, records)
    config = {
        "bootstrap": kafka_bootstrap,
        "database_url": database_url,
        "schema": schema,
        "topic": topic,
        "registry": str(tmp_path),
        "group": f"test-{uuid.uuid4().hex}",
        "delay_s": 0.002,
    }

    rng = random.Random()
    kills_mid_stream = 0
    progress: list[int] = []
    for _ in range(KILLS):
        proc = start_worker(config)
        before = stored_count(database_url, schema)
        deadline = time.monotonic() + 60
        while stored_count(database_url, schema) == before and time.monotonic() < deadline:
            time.sleep(0.1)  # killed only once it is consuming: a kill during start-up tests less
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = stored_count(database_url, schema)
        kills_mid_stream += before < done < N_RECORDS
        progress.append(done)

    proc = start_worker(config)
    try:
        deadline = time.monotonic() + 240
        while stored_count(database_url, schema) < N_RECORDS and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2.0)  # any duplicate would show up now
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"SIGTERM should stop the consumer cleanly: {stderr!r}"

    sources = echoed(database_url, schema)
    print(f"stored after each of {KILLS} SIGKILLs: {progress}")
    assert kills_mid_stream >= 5, f"only {kills_mid_stream} kills hit mid-stream: {progress}"
    assert len(sources) == N_RECORDS, stderr.decode()[-2_000:]
    assert sorted(sources) == sorted(r.ce_id for r in records)


@pytest.mark.integration
@pytest.mark.timeout(420)
def test_a_poison_record_goes_to_the_deadletter_with_its_reason_and_the_partition_moves_on(
    kafka_bootstrap: str, database_url: str, topic: str, schema: str, tmp_path: Path
) -> None:
    registry = write_registry(tmp_path)
    good = [ping(registry, n) for n in range(3)]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    tp0 = TopicPartition(topic, 0)
    producer.send(topic, partition=0, key=good[0].key, value=good[0].value, headers=good[0].headers)
    poison = producer.send(
        topic, partition=0, key=b"x", value=b"{not json", headers=good[1].headers
    ).get(timeout=10)
    producer.send(topic, partition=0, key=good[2].key, value=good[2].value, headers=good[2].headers)
    producer.flush()
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
            consumer, lambda: consumer.tracked_offset(topic, 0) == 2, "the position past the poison"
        )
    finally:
        consumer.close()
        app.close()

    assert sorted(echoed(database_url, schema)) == sorted([good[0].ce_id, good[2].ce_id])
    letters = _deadletters_from(kafka_bootstrap, topic)
    [letter] = [h for h in letters if h["dl_offset"] == str(poison.offset)]
    assert letter["dl_partition"] == str(tp0.partition)
    assert letter["dl_service"] == "cexact"
    assert letter["dl_reason"].startswith(("JSONDecodeError", "ValueError", "ContractViolation"))
    assert letter["ce_id"] == good[1].ce_id


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_a_consumer_joining_mid_stream_takes_over_partitions_without_repeating_records(
    kafka_bootstrap: str, database_url: str, topic: str, schema: str, tmp_path: Path
) -> None:
    registry = write_registry(tmp_path)
    records = [ping(registry, n) for n in range(600)]
    produce(kafka_bootstrap, topic, records)
    settings = Settings(env="dev", database_url=database_url, kafka_bootstrap=kafka_bootstrap)
    group = f"test-{uuid.uuid4().hex}"
    consumers = []
    for _ in range(2):
        consumer = Consumer(
            "cexact",
            build_application(app_class(schema), settings),
            EchoReactions(topic, delay_s=0.01),
            settings,
            parse=lambda r: parse_consumer_record(r, registry),
            group_id=group,
            kafka_options={**TEST_KAFKA, "max_poll_records": 20},
        )
        consumers.append(consumer)
    threads = [threading.Thread(target=c.run) for c in consumers]
    try:
        threads[0].start()
        deadline = time.monotonic() + 60
        while stored_count(database_url, schema) < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        threads[1].start()  # a rebalance mid-stream: positions come from PostgreSQL
        deadline = time.monotonic() + 120
        while stored_count(database_url, schema) < len(records) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        for consumer, thread in zip(consumers, threads, strict=True):
            consumer.stop()
            thread.join(timeout=30)
            consumer.close()
            consumer.app.close()

    assert sorted(echoed(database_url, schema)) == sorted(r.ce_id for r in records)
    assert all(c.counts[Outcome.PROCESSED] > 0 for c in consumers), [c.counts for c in consumers]


def _deadletters_from(bootstrap: str, topic: str) -> list[dict[str, str]]:
    reader = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        consumer_timeout_ms=3_000,
    )
    try:
        partitions = [
            TopicPartition(DEADLETTER_TOPIC, p)
            for p in reader.partitions_for_topic(DEADLETTER_TOPIC)
        ]
        reader.assign(partitions)
        reader.seek_to_beginning()
        found = []
        for record in reader:
            headers = {k: v.decode() for k, v in record.headers}
            if headers.get("dl_topic") == topic:
                found.append(headers)
        return found
    finally:
        reader.close()
