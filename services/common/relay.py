"""The relay: a service's committed events, in commit order, to its Kafka topic exactly once.

It tails the notification log (ids appear in commit order because every insert locks the events
table; gaps are normal) and publishes each batch together with its new position, one record on
the compacted checkpoint topic, in one Kafka transaction. A crash at any moment leaves either the
whole batch and its position committed or neither; on start the relay fences any older producer
with its transactional id and resumes after the committed position. Every record is checked
against its contract first: one that fails is a bug, and the relay stops rather than skip it.
A child process reads and encodes ahead (relay_reader.py) while this one sends and commits.

Run one per service: `careledger relay <service>` or `python -m services.common.relay <service>`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from kafka.errors import InvalidProducerEpochError, KafkaError, ProducerFencedError
from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    wait_exponential,
)

from services.common.access_log import ACCESS_TOPIC, ACCESS_TYPE_PREFIX
from services.common.kafka_access import kafka_access
from services.common.relay_kafka import (
    CHECKPOINT_TOPIC,
    checkpoint_value,
    commit_within,
    read_checkpoint,
    transactional_producer,
)
from services.common.relay_reader import ReadAhead, Wire
from services.common.relay_source import RecordSource
from services.common.relay_status import RelayMetrics, relay_status
from services.common.settings import Settings

log = logging.getLogger("careledger.relay")
__all__ = ["Relay", "RelayConfig", "RelayFenced", "relay_status", "run_relay", "was_fenced"]

FENCED = (ProducerFencedError, InvalidProducerEpochError)


class RelayFenced(RuntimeError):
    """A newer relay with the same transactional id took over: this one must exit."""


@dataclass(frozen=True)
class RelayConfig:
    """What one relay reads and where it writes; the defaults are the production names."""

    service: str
    topic: str = ""  # default careledger.<service>
    transactional_id: str = ""  # default careledger-relay-<service>
    checkpoint_topic: str = CHECKPOINT_TOPIC
    checkpoint_key: str = ""  # default: the service name
    access_topic: str = ACCESS_TOPIC  # the service's access events (they share its store)
    batch_size: int = 1000
    poll_interval_s: float = 0.05
    # At most one transaction per interval: each costs the broker ~2-3 ms of CPU whatever its
    # size, so under load the batches that queued meanwhile go out together (adds <= 20 ms).
    min_transaction_interval_s: float = 0.02
    transaction_timeout_ms: int = 60_000
    schema_root: Path | None = None
    domain_modules: Sequence[str] = field(default_factory=tuple)

    @property
    def event_topic(self) -> str:
        return self.topic or f"careledger.{self.service}"

    @property
    def producer_id(self) -> str:
        return self.transactional_id or f"careledger-relay-{self.service}"

    @property
    def key(self) -> str:
        return self.checkpoint_key or self.service


class Relay:
    """Publishes one service's events; `run()` until `stop` is set or it is fenced."""

    def __init__(
        self,
        config: RelayConfig,
        settings: Settings,
        *,
        metrics: RelayMetrics | None = None,
    ) -> None:
        if not settings.kafka_bootstrap:
            raise RuntimeError("no Kafka configured: set CARELEDGER_KAFKA_BOOTSTRAP")
        self.config = config
        self.settings = settings
        self.source = RecordSource(config, settings)  # lag, and a check that the store answers
        self.metrics = metrics or RelayMetrics(config.service)
        self.stop = threading.Event()
        self.position = 0
        self._producer: KafkaProducer | None = None
        self._sent: list[Any] = []  # the send futures of the transaction in hand
        self._partitions = 0
        self._access_partitions = 0
        self._lag_checked = 0.0

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Publish until `stop` is set; raises RelayFenced or ContractViolation (a bug)."""
        self._connect()
        reader = self._read_ahead()
        began = 0.0
        try:
            while not self.stop.is_set():
                self.stop.wait(began + self.config.min_transaction_interval_s - time.monotonic())
                batch = reader.next(timeout=self.config.poll_interval_s)
                if batch is None:
                    self._update_lag(force=True)
                    continue
                began = time.monotonic()
                if not self._commit(*reader.more(batch, self.config.batch_size)):
                    reader.close()  # it read ahead of a position that did not commit
                    reader = self._read_ahead()
        finally:
            reader.close()
            self.close()

    def _read_ahead(self) -> ReadAhead:
        # The reader picks partitions too (murmur2 in pure Python is a send's costliest step);
        # an event topic's partition count never changes, or per-key order would break.
        return ReadAhead(self.config, self.settings, self.position, partitions=self._partitions)

    def _commit(self, records: list[Wire], last: int) -> bool:
        """Publish one batch and its position in one transaction; False if Kafka failed."""
        try:
            self._publish(records, last)
        except KafkaError as exc:
            if was_fenced(exc, self._producer, self._sent):
                raise RelayFenced(
                    f"relay {self.config.producer_id} was fenced by a newer one: exiting"
                ) from exc
            log.warning("kafka transaction failed (%s): reconnecting", type(exc).__name__)
            self._reconnect()  # resumes from the position Kafka committed, whatever it is
            return False
        self.position = last
        self.metrics.published(len(records), last)
        self._update_lag()
        return True

    def _publish(self, records: list[Wire], last: int) -> None:
        producer = self._producer
        assert producer is not None
        producer.begin_transaction()
        topic, access = self.config.event_topic, self.config.access_topic
        self._sent = sent = []  # kept for was_fenced, even if a send below raises
        for key, value, headers, partition in records:
            if headers[3][1].startswith(ACCESS_TYPE_PREFIX):
                # Access events share the store and this transaction but have their own topic;
                # each is a one-event aggregate, so any partition keeps its order.
                spread = partition % self._access_partitions
                sent.append(producer.send(access, value=value, key=key, headers=headers,
                                          partition=spread))  # fmt: skip
                continue
            sent.append(producer.send(topic, value=value, key=key, headers=headers,
                                      partition=partition))  # fmt: skip
        sent.append(
            producer.send(
                self.config.checkpoint_topic,
                key=self.config.key.encode(),
                value=checkpoint_value(last),
            )
        )
        # flush bounds the wait on a broker that went away; commit then only ends the txn.
        producer.flush(timeout=self.config.transaction_timeout_ms / 2000)
        commit_within(producer, self.config.transaction_timeout_ms / 2000)

    # -- connections --------------------------------------------------------------------------

    def _connect(self) -> None:
        """A producer (fencing older ones) and the committed position, retrying while down."""
        for attempt in Retrying(
            retry=retry_if_exception_type(KafkaError) & retry_if_not_exception_type(FENCED),
            wait=wait_exponential(multiplier=0.2, max=5),
            before_sleep=lambda s: log.warning(
                "kafka not ready (%s): retrying",
                type(s.outcome.exception()).__name__ if s.outcome else "?",
            ),
            reraise=True,
        ):
            with attempt:
                self._open_producer()
        if self._producer is None:
            raise RelayFenced("no producer")

    def _open_producer(self) -> None:
        self._close_producer()
        kafka = kafka_access(self.settings)
        producer = transactional_producer(
            kafka,
            self.config.producer_id,
            transaction_timeout_ms=self.config.transaction_timeout_ms,
        )
        try:
            self._partitions = len(producer.partitions_for(self.config.event_topic))
            self._access_partitions = len(producer.partitions_for(self.config.access_topic))
            self.position = read_checkpoint(
                kafka, self.config.key, topic=self.config.checkpoint_topic
            )
        except BaseException:
            producer.close(timeout=0)
            raise
        self._producer = producer
        self.metrics.published(0, self.position)
        log.info("relay %s resumes after position %d", self.config.producer_id, self.position)

    def _reconnect(self) -> None:
        self._close_producer()
        self._connect()

    def _close_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=0)
            except KafkaError:
                log.debug("producer close failed", exc_info=True)
            self._producer = None

    def close(self) -> None:
        self._close_producer()
        self.source.close()

    # -- the store ----------------------------------------------------------------------------

    def _update_lag(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._lag_checked < 1.0:
            return
        self._lag_checked = now
        highest = self.source.max_notification_id()
        if highest is not None:
            self.metrics.lag(highest, self.position)


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


def run_relay(service: str, settings: Settings, *, metrics_port: int | None = None,
              **options: Any) -> None:  # fmt: skip
    """Run the relay of `service` until SIGTERM/SIGINT (returns) or a fence (RelayFenced).

    `options` are RelayConfig fields (topic, transactional_id, batch_size, ...). Raises
    ContractViolation when a stored event does not fit its contract (a bug to fix first).
    """
    from services.common.relay_status import serve_metrics

    relay = Relay(RelayConfig(service=service, **options), settings)
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: relay.stop.set())
    if metrics_port:
        serve_metrics(metrics_port, settings.metrics_host)
    relay.run()


if __name__ == "__main__":
    from services.common.relay_cli import main

    main()
