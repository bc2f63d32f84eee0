"""The relay's Kafka side: its transactional producer and its checkpoint (last published position).

The checkpoint is one record per relay, keyed by the service name on the compacted
`careledger.relay-checkpoints` topic, value `{"position": <last notification id>}`, written in
the same transaction as the events it covers: Kafka itself says how far the relay got. It also
lists the positions below that the relay holds in quarantine (`held`, quarantine.py), so a
retry publishes them exactly once too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import (
    InvalidProducerEpochError,
    KafkaError,
    KafkaTimeoutError,
    ProducerFencedError,
)

from contracts.topics import CHECKPOINT_TOPIC
from services.common.kafka_access import KafkaTarget, as_access

FENCED = (ProducerFencedError, InvalidProducerEpochError)


# The same batch settings serve the relay and its benchmark baseline (bench/relay.py).
PRODUCER_SETTINGS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "batch_size": 512 * 1024,
    "max_in_flight_requests_per_connection": 5,
}


TRANSACTION_RETRY_BACKOFF_MS = 10


def transactional_producer(
    kafka: KafkaTarget,
    transactional_id: str,
    *,
    transaction_timeout_ms: int = 60_000,
    batch_size: int | None = None,
) -> KafkaProducer:
    """A producer that has fenced every older producer with the same transactional id.

    `init_transactions` also aborts whatever transaction that older producer left open (or
    waits for one it was committing), so what is committed is settled once this returns.
    """
    producer = KafkaProducer(
        **as_access(kafka).options(),
        transactional_id=transactional_id,
        transaction_timeout_ms=transaction_timeout_ms,
        bootstrap_timeout_ms=10_000,
        max_block_ms=30_000,
        request_timeout_ms=15_000,
        delivery_timeout_ms=45_000,
        **{**PRODUCER_SETTINGS, **({"batch_size": batch_size} if batch_size else {})},
        # Back-to-back transactions: the broker answers the next AddPartitionsToTxn with
        # CONCURRENT_TRANSACTIONS while it writes the last one's markers. The Java client retries
        # that after 20 ms; kafka-python 3.0 lowers the handler's backoff but its sender sleeps
        # the producer's `retry_backoff_ms`, so the default 100 ms put ~115 ms into every
        # transaction (measured: 118 ms a transaction of 20 records at 100, 17 ms at 10).
        retry_backoff_ms=TRANSACTION_RETRY_BACKOFF_MS,
    )
    try:
        producer.init_transactions()
    except BaseException:
        producer.close(timeout=0)
        raise
    return producer


def commit_within(producer: KafkaProducer, timeout_s: float) -> None:
    """`commit_transaction`, but raising KafkaTimeoutError after `timeout_s`.

    kafka-python waits for the commit without a bound; when the transaction coordinator died
    mid-commit and the cluster lost its controller quorum, the wait never ended (seen with two
    of three brokers SIGKILLed: the relay hung after they came back). A relay that times out
    reconnects: its new producer's `init_transactions` settles the old transaction either way.
    """
    manager = producer._transaction_manager
    result = manager.begin_commit()
    producer._sender.wakeup()
    if not result.wait(timeout_ms=timeout_s * 1000):
        raise KafkaTimeoutError(f"the transaction did not commit within {timeout_s:.0f}s")


def failed_sends(sent: Sequence[Any], deadline: float) -> list[tuple[int, KafkaError]]:
    """(index, error) of each send future that failed or did not finish by `deadline`."""
    if all(future.is_done and not future.failed() for future in sent):
        return []  # the common case, checked cheaply
    failed: list[tuple[int, KafkaError]] = []
    for index, future in enumerate(sent):
        try:  # get() follows a record into the batches a split re-sent it in
            future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as exc:
            failed.append((index, exc))
    return failed


class Checkpoint(NamedTuple):
    """How far a relay got, and the events below that position it holds in quarantine."""

    position: int
    held: dict[int, str]  # position -> aggregate id


def checkpoint_value(position: int, held: dict[int, str] | None = None) -> bytes:
    document: dict[str, Any] = {"position": position}
    if held:
        document["held"] = sorted([p, a] for p, a in held.items())
    return json.dumps(document).encode()


def parse_checkpoint(value: bytes) -> Checkpoint:
    document = json.loads(value)
    held = {int(p): str(a) for p, a in document.get("held", [])}
    return Checkpoint(int(document["position"]), held)


def topic_record_limit(kafka: KafkaTarget, topic: str) -> int:
    """The largest record batch the topic takes (`max.message.bytes`)."""
    return topic_limits(kafka, [topic])[topic]


def topic_limits(kafka: KafkaTarget, topics: list[str]) -> dict[str, int]:
    """Each topic's effective `max.message.bytes` (its own, or the broker's default)."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(**as_access(kafka).options())
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t, ["max.message.bytes"]) for t in topics],
            config_filter="all",
        )
        return {t: int(described["topic"][t]["max.message.bytes"]["value"]) for t in topics}
    finally:
        admin.close()


def read_checkpoint(
    kafka: KafkaTarget,
    key: str,
    *,
    topic: str = CHECKPOINT_TOPIC,
    timeout_s: float = 120.0,
    settle: bool = True,
) -> int:
    """The last committed position for `key` (0 when the relay never published)."""
    return read_checkpoint_state(
        kafka, key, topic=topic, timeout_s=timeout_s, settle=settle
    ).position


def read_checkpoint_state(
    kafka: KafkaTarget,
    key: str,
    *,
    topic: str = CHECKPOINT_TOPIC,
    timeout_s: float = 120.0,
    settle: bool = True,
    stopped: Callable[[], bool] = lambda: False,
) -> Checkpoint:
    """The last committed checkpoint for `key` (position 0 when the relay never published).

    Reads read_committed up to the log end as it was on entry (not merely the last stable
    offset): a transaction another relay holds open on this shared partition must not hide a
    later checkpoint of ours. Call it after `init_transactions`, which settles our own.
    `settle=False` reads only up to the last stable offset (quick, maybe stale: for status).
    `stopped` is asked between polls: a relay told to stop gives up the wait (KafkaTimeoutError).
    """
    partition = TopicPartition(topic, 0)
    end = _log_end(kafka, partition, "read_uncommitted" if settle else "read_committed")
    consumer = KafkaConsumer(
        **as_access(kafka).options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        group_id=None,
        bootstrap_timeout_ms=10_000,
    )
    checkpoint = Checkpoint(0, {})
    wanted = key.encode()
    deadline = time.monotonic() + timeout_s
    try:
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        while consumer.position(partition) < end:
            if stopped():
                raise KafkaTimeoutError(f"stopped while reading {topic} below offset {end}")
            if time.monotonic() > deadline:
                raise KafkaTimeoutError(
                    f"{topic} has a transaction open for over {timeout_s}s below offset {end}"
                )
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if record.key == wanted and record.value is not None:
                        checkpoint = parse_checkpoint(record.value)
    finally:
        consumer.close()
    return checkpoint


def _log_end(kafka: KafkaTarget, partition: TopicPartition, isolation: str) -> int:
    consumer = KafkaConsumer(
        **as_access(kafka).options(),
        isolation_level=isolation,
        enable_auto_commit=False,
        group_id=None,
        bootstrap_timeout_ms=10_000,
    )
    try:
        end: int = consumer.end_offsets([partition])[partition]
        return end
    finally:
        consumer.close()


def was_fenced(
    exc: BaseException, producer: KafkaProducer | None, sent: Sequence[Any] = ()
) -> bool:
    """Whether a failed transaction means a newer relay took over.

    kafka-python often reports the broker's ProducerFenced as a plain KafkaError ("in an error
    state: ..."); its transaction manager keeps the real cause. When the fence reaches a produce
    request first, the broker answers InvalidProducerEpoch, which kafka-python takes for a
    recoverable error (it bumps the epoch and forgets the cause); only the failed send futures
    (`sent`) keep it. Reconnecting after a fence would fence the newer relay in turn, and the
    two would take turns.
    """
    if isinstance(exc, FENCED):
        return True
    causes: list[object] = [*exc.args, exc.__cause__]
    causes += [future.exception for future in sent if future.failed()]
    manager = getattr(producer, "_transaction_manager", None)  # kafka-python keeps the cause here
    if manager is not None:
        causes.append(manager.last_error)
    return any(
        isinstance(c, FENCED) or (isinstance(c, type) and issubclass(c, FENCED)) for c in causes
    )
