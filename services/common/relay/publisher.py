"""The relay: a service's committed events, in commit order, to its Kafka topic exactly once.

It tails the notification log (ids appear in commit order because every insert locks the events
table; gaps are normal) and publishes each batch together with its new position, one record on
the compacted checkpoint topic, in one Kafka transaction. A crash at any moment leaves either the
whole batch and its position committed or neither; on start the relay fences any older producer
with its transactional id and resumes after the committed position. Every record is checked
against its contract first: an event that breaks it (or does not decode) is quarantined, with
the later events of its aggregate (quarantine.py), and the rest go on. Every send future
is checked before the commit. A record over the topic's size limit stops the relay (exit 5),
naming its position: it would be refused every time.
A child process reads and encodes ahead (reader.py) while this one sends and commits.

Run one per service: `careledger relay <service>`.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from dataclasses import replace
from typing import Any

import psycopg
from kafka import KafkaProducer
from kafka.errors import KafkaError, MessageSizeTooLargeError
from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    wait_exponential,
)

from services.common import quarantine
from services.common.access.log import ACCESS_TYPE_PREFIX
from services.common.kafka_access import kafka_access
from services.common.relay.config import (
    Poison,
    RecordTooLarge,
    RelayConfig,
    RelayFenced,
    Wire,
)
from services.common.relay.kafka import (
    FENCED,
    PRODUCER_SETTINGS,
    checkpoint_value,
    commit_within,
    failed_sends,
    read_checkpoint_state,
    topic_record_limit,
    transactional_producer,
    was_fenced,
)
from services.common.relay.quarantine import RelayQuarantine, position_of
from services.common.relay.reader import ReadAhead
from services.common.relay.source import RecordSource
from services.common.relay.status import RelayMetrics
from services.common.settings import PRODUCER_MAX_REQUEST_BYTES, Settings

log = logging.getLogger("careledger.relay")

TOO_LARGE = (MessageSizeTooLargeError,)  # the broker's MESSAGE_TOO_LARGE
MAX_REQUEST_BYTES = PRODUCER_MAX_REQUEST_BYTES  # kafka-python's max_request_size
RETRY_CHECK_S = 1.0  # how often an idle relay looks for retry requests
ABORT_WAIT_S = 5


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
        self._record_limit = MAX_REQUEST_BYTES
        self._lag_checked = 0.0
        self._retries_checked = 0.0
        self.quarantine = RelayQuarantine(config.service, config.service, settings.database_url)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Publish until `stop` is set; raises RelayFenced, RecordTooLarge or TooManyHeld."""
        self._connect()
        reader = self._read_ahead()
        began = 0.0
        try:
            while not self.stop.is_set():
                self.stop.wait(began + self.config.min_transaction_interval_s - time.monotonic())
                batch = reader.next(timeout=self.config.poll_interval_s)
                if batch is None:
                    self._update_lag(force=True)
                    ok = self._retry_held()
                else:
                    began = time.monotonic()
                    ok = self._commit(*reader.more(batch, self.config.batch_size))
                if not ok:
                    reader.close()  # it read ahead of a position that did not commit
                    reader = self._read_ahead()
        finally:
            reader.close()
            self.close()

    def _read_ahead(self) -> ReadAhead:
        # The reader picks partitions too (murmur2 in pure Python is a send's costliest step);
        # an event topic's partition count never changes, or per-key order would break.
        return ReadAhead(
            self.config,
            self.settings,
            self.position,
            partitions=self._partitions,
            record_limit=self._record_limit,
        )

    def _commit(self, items: list[Wire | Poison], last: int) -> bool:
        """Publish one batch and its position in one transaction; False if it did not commit.

        Poison events and the later events of their aggregates are held (quarantine.py)
        in the same transaction: the checkpoint moves past them and lists them.
        """
        sendable, held, rows = self.quarantine.sort(items)
        try:
            self.quarantine.record(rows)
        except psycopg.Error as exc:
            log.warning("quarantine rows not written (%s): trying again", type(exc).__name__)
            self.stop.wait(1.0)
            return False
        if not self._transaction(sendable, last, held):
            return False
        self.position = last
        self.quarantine.committed(held)
        self.metrics.published(len(sendable), last)
        self._update_lag()
        return True

    def _retry_held(self) -> bool:
        """Publish again the held events an operator asked for (`--retry`); False on failure."""
        if time.monotonic() - self._retries_checked < RETRY_CHECK_S:
            return True
        self._retries_checked = time.monotonic()
        try:
            rows = self.quarantine.retries()
        except psycopg.Error:
            return True  # the store is down; the next check tries again
        if not rows:
            return True
        records, released, failed, stuck = [], [], [], set()
        for row in rows:
            if row.aggregate_id in stuck:
                continue
            try:
                records.append(
                    self.source.wire(
                        self.source.at(row.position), self._partitions, self._record_limit
                    )
                )
                released.append(row)
            except RecordTooLarge:
                raise
            except Exception as exc:
                stuck.add(row.aggregate_id)
                failed.append(replace(row, reason=quarantine.reason_of(exc), held_behind=None))
        held = {
            p: a for p, a in self.quarantine.held.items() if p not in {r.position for r in released}
        }
        if records and not self._transaction(records, self.position, held):
            return False
        self.quarantine.committed(held)
        self.quarantine.released([r.ref for r in released], failed)
        self.metrics.published(len(records), self.position)
        log.info(
            "relay %s republished %d held events; %d still held",
            self.config.producer_id,
            len(records),
            len(held),
        )
        return True

    def _transaction(self, records: list[Wire], last: int, held: dict[int, str]) -> bool:
        """One Kafka transaction; False (and a new producer) if Kafka failed."""
        try:
            self._publish(records, last, held)
        except KafkaError as exc:
            if was_fenced(exc, self._producer, self._sent):
                raise RelayFenced(
                    f"relay {self.config.producer_id} was fenced by a newer one: exiting"
                ) from exc
            log.warning("kafka transaction failed (%s): reconnecting", type(exc).__name__)
            self._reconnect()  # resumes from the position Kafka committed, whatever it is
            return False
        return True

    def _publish(self, records: list[Wire], last: int, held: dict[int, str]) -> None:
        """Send the batch and its checkpoint; commit only if every send future succeeded.

        kafka-python can fail a batch (its retries spent, the broker refusing it) and still
        commit the transaction, so each future is checked first; on any failure the
        transaction is aborted and the caller reconnects and sends again from the checkpoint.
        """
        producer = self._producer
        assert producer is not None
        producer.begin_transaction()
        topic, access = self.config.event_topic, self.config.access_topic
        self._sent = sent = []  # kept for was_fenced, even if a send below raises
        try:
            for key, value, headers, partition in records:
                if headers[3][1].startswith(ACCESS_TYPE_PREFIX):
                    # Access events share the store and this transaction but have their own
                    # topic; each is a one-event aggregate, so any partition keeps its order.
                    spread = partition % self._access_partitions
                    sent.append(
                        producer.send(
                            access, value=value, key=key, headers=headers, partition=spread
                        )
                    )
                    continue
                sent.append(
                    producer.send(topic, value=value, key=key, headers=headers, partition=partition)
                )
            sent.append(
                producer.send(
                    self.config.checkpoint_topic,
                    key=self.config.key.encode(),
                    value=checkpoint_value(last, held),
                )
            )
        except MessageSizeTooLargeError as exc:  # refused by the producer itself
            self._abort()
            raise RecordTooLarge(position_of(records[len(sent)]), 0, self._record_limit) from exc
        timeout = self.config.transaction_timeout_ms / 2000  # bounds the wait on a lost broker
        deadline = time.monotonic() + timeout
        # A batch split after MESSAGE_TOO_LARGE, or a timeout: the futures below say which
        with contextlib.suppress(KafkaError):
            producer.flush(timeout=timeout)
        failed = failed_sends(sent, deadline)
        if failed:
            self._abort()
            too_large = [i for i, exc in failed if isinstance(exc, TOO_LARGE) and i < len(records)]
            if too_large:
                largest = max(too_large, key=lambda i: len(records[i][1]))
                raise RecordTooLarge(
                    position_of(records[largest]), len(records[largest][1]), self._record_limit
                )
            raise failed[0][1]
        commit_within(producer, timeout)  # commit_transaction waits without a bound

    def _abort(self) -> None:
        """Abort the transaction in hand, waiting at most ABORT_WAIT_S.

        kafka-python's abort_transaction waits without a bound, and with a partition whose
        leader is gone its batches never finish; the reconnect that follows closes this
        producer, and the next one's init_transactions aborts whatever is still open.
        """
        producer = self._producer
        manager = getattr(producer, "_transaction_manager", None)
        if producer is None or manager is None:
            return
        try:
            result = manager.begin_abort()
            producer._sender.wakeup()
            result.wait(timeout_ms=ABORT_WAIT_S * 1000)
        except KafkaError:
            log.debug("abort failed", exc_info=True)

    # -- connections --------------------------------------------------------------------------

    def _connect(self) -> None:
        """A producer (fencing older ones) and the committed position, retrying while down."""
        for attempt in Retrying(
            retry=retry_if_exception_type(KafkaError) & retry_if_not_exception_type(FENCED),
            wait=wait_exponential(multiplier=0.2, max=5),
            sleep=self.stop.wait,  # type: ignore[arg-type]  # SIGTERM ends the wait; bool unused
            before_sleep=lambda s: log.warning(
                "kafka not ready (%s): retrying",
                type(s.outcome.exception()).__name__ if s.outcome else "?",
            ),
            reraise=True,
        ):
            if self.stop.is_set():  # SIGTERM while Kafka is away: stop instead of waiting on
                return
            with attempt:
                self._open_producer()
        if self._producer is None:
            raise RelayFenced("no producer")

    def _open_producer(self) -> None:
        self._close_producer()
        kafka = kafka_access(self.settings)
        # A batch over the topic's max.message.bytes is refused whole, so batches stay under it
        limit = min(topic_record_limit(kafka, self.config.event_topic), MAX_REQUEST_BYTES)
        self._record_limit = limit
        producer = transactional_producer(
            kafka,
            self.config.producer_id,
            transaction_timeout_ms=self.config.transaction_timeout_ms,
            batch_size=min(PRODUCER_SETTINGS["batch_size"], limit),
        )
        try:
            self._partitions = len(producer.partitions_for(self.config.event_topic))
            self._access_partitions = len(producer.partitions_for(self.config.access_topic))
            checkpoint = read_checkpoint_state(
                kafka, self.config.key, stopped=self.stop.is_set, topic=self.config.checkpoint_topic
            )
        except BaseException:
            producer.close(timeout=0)
            raise
        self._producer = producer
        self.position = checkpoint.position
        self.quarantine.committed(checkpoint.held)
        self._reconcile()
        self.metrics.published(0, self.position)
        log.info("relay %s resumes after position %d", self.config.producer_id, self.position)

    def _reconcile(self) -> None:
        try:
            self.quarantine.reconcile()
        except psycopg.Error:
            log.warning("quarantine rows not checked against the checkpoint: store down")

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
        self.quarantine.close()
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


def run_relay(config: RelayConfig, settings: Settings, *, metrics_port: int | None = None) -> None:
    """Run one relay until SIGTERM/SIGINT (returns), a fence (RelayFenced) or a stop reason.

    Raises ContractViolation when a stored event does not fit its contract (a bug to fix first).
    """
    from services.common.relay.status import serve_metrics

    relay = Relay(config, settings)
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: relay.stop.set())
    if metrics_port:
        serve_metrics(metrics_port, settings.metrics_host)
    relay.run()
