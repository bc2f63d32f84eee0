"""Kafka -> application, exactly once in effect.

For each record the service's reactions return unsaved aggregates; their events and the record's
position (`Tracking("<topic>:<partition>", offset)`) commit in one PostgreSQL transaction. The
position in PostgreSQL is the truth: on every assignment the consumer seeks to the tracked offset
+ 1, and Kafka group offsets are committed only as a hint for tools. A record recorded twice
fails the tracking insert (single-row tracking only moves forward) and is skipped. A record that
cannot be parsed, whose reaction raises or whose events the store refuses goes to the dead-letter
topic and the service's quarantine (quarantine.py, which also retries it on command),
then its position is recorded so the partition moves on. PostgreSQL being down is retried with
backoff, never skipped; so is a broker that is down, failing or frozen (`_poll`).

A record whose reaction saves nothing gets no transaction of its own: its position is noted and
written with the next record of its partition that saves something (a later offset covers it),
at the end of a poll once `idle_flush_seconds` (default 1 s) have passed since the last such
write, and when the consumer stops (one transaction per such record was most of a consumer's
CPU). If the process dies first, those records are read again and react to nothing again (or,
if the state changed meanwhile, for the first time): still once in effect.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from types import FrameType
from typing import Any

import structlog
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, Tracking
from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential_jitter

from contracts.envelope import parse_consumer_record
from contracts.records import InboundRecord
from contracts.schemas import ContractId, ContractViolation
from contracts.topics import DEADLETTER_TOPIC
from services.common.consumer.deadletter import DeadLetters, DeadLetterSink, reason_for
from services.common.consumer.inbound import Reactions
from services.common.consumer.quarantine import (
    ConsumerQuarantine,
    header,
    is_transient,
    reaction_context,
    ref_of,
)
from services.common.context import acting_as
from services.common.kafka_access import kafka_access
from services.common.settings import Settings
from services.common.store.application import CareApplication

log = structlog.get_logger(__name__)

Parser = Callable[[Any], InboundRecord]


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    DEADLETTERED = "deadlettered"


MAX_CONFLICTS = 5


class _ReactAgain(Exception):
    """The aggregates changed under the reaction (not this record's position): react again."""


def tracking_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


class Consumer:
    """One service's reaction consumer; drive it with `poll_once()` or `run(until=...)`."""

    def __init__(
        self,
        service: str,
        app: CareApplication,
        reactions: Reactions,
        settings: Settings,
        *,
        parse: Parser = parse_consumer_record,
        deadletters: DeadLetterSink | None = None,
        deadletter_topic: str = DEADLETTER_TOPIC,
        quarantine: ConsumerQuarantine | None = None,
        group_id: str | None = None,
        poll_timeout_ms: int = 500,
        max_backoff_s: float = 10.0,
        kafka_options: Mapping[str, Any] | None = None,
        idle_flush_seconds: float = 1.0,
    ) -> None:
        self.service = service
        self.app = app
        self.reactions = reactions
        self.settings = settings
        self.parse = parse
        self.group_id = group_id or f"careledger-{service}-reactions"
        self.poll_timeout_ms = poll_timeout_ms
        self.counts: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        self.retries = 0  # waits for the database or broker to answer again
        self._deadletters = deadletters
        self._deadletter_topic = deadletter_topic
        self._quarantine = quarantine
        if quarantine is None and settings.database_url:  # rows beside the dead letters
            schema = str(getattr(app, "name", service))  # the application's own schema
            self._quarantine = ConsumerQuarantine(schema, settings.database_url)
        # kafka-python's 45 s default session would stall a crashed member's partitions as long.
        self._kafka_options = {"session_timeout_ms": 10_000, **(kafka_options or {})}
        self._kafka: Any = None
        self._stopping = False
        self._stopped = threading.Event()  # ends a backoff wait early
        self.broker_down_since: float | None = None  # while polls fail (monotonic), for readiness
        self._idle: dict[str, Tracking] = {}  # positions of records that saved nothing
        self._idle_flush_seconds = idle_flush_seconds
        self._flushed_at = float("-inf")
        self._retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=wait_exponential_jitter(multiplier=0.1, max=max_backoff_s, jitter=0.1),
            stop=lambda _state: self._stopping,
            before_sleep=self._count_retry,
            reraise=True,
        )
        # A broker that is down, failing or frozen is waited for, never a reason to exit.
        self._broker_wait = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, KafkaError)),
            wait=wait_exponential_jitter(multiplier=0.1, max=max_backoff_s, jitter=0.1),
            stop=lambda _state: self._stopping,
            before_sleep=self._broker_unavailable,
            sleep=self._pause,
            retry_error_callback=lambda _state: None,  # stopped while waiting
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Join the group (each assigned partition positioned from PostgreSQL), waiting for a
        broker that does not answer yet: giving up would stop every reaction of the service."""
        self._broker_wait(self._connect)

    def _connect(self) -> None:
        if self._deadletters is None:
            self._deadletters = DeadLetters(
                kafka_access(self.settings), service=self.service, topic=self._deadletter_topic
            )
        self._kafka = KafkaConsumer(
            **kafka_access(self.settings).options(),
            group_id=self.group_id,
            client_id=f"careledger-{self.service}-consumer",
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self._kafka_options,
        )
        self._kafka.subscribe(topics=list(self.reactions.topics), listener=_SeekToTracked(self))

    def stop(self) -> None:
        """Finish the record in hand, then leave `run`."""
        self._stopping = True
        self._stopped.set()

    def close(self) -> None:
        try:
            self.flush_idle()
        except Exception as exc:  # the positions are a saving, not a duty: they are read again
            log.info("consumer.idle_positions_not_written", error=type(exc).__name__)
        if self._kafka is not None:
            self._kafka.close(autocommit=False)
            self._kafka = None
        if self._deadletters is not None:
            self._deadletters.close()
        if self._quarantine is not None:
            self._quarantine.close()

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Poll until `stop()` is called or `until()` answers true."""
        if self._kafka is None:
            self.start()
        while not self._stopping and not (until is not None and until()):
            self.poll_once()

    def poll_once(self) -> int:
        """Process one poll's worth of records; returns how many were handled."""
        if self._kafka is None:
            self.start()
        batch = self._poll() if self._kafka is not None else {}
        handled = 0
        next_offsets: dict[Any, OffsetAndMetadata] = {}
        for tp, records in batch.items():
            for record in records:
                if self._stopping:
                    break
                self.handle(record, defer_idle=True)
                handled += 1
                next_offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        if time.monotonic() - self._flushed_at >= self._idle_flush_seconds or self._stopping:
            self.flush_idle()
        if next_offsets:
            self._commit_hint(next_offsets)
        return handled

    def _poll(self) -> dict[Any, list[Any]]:
        """One poll, waiting out a broker that does not answer (`_broker_wait`): kafka-python
        raises (KafkaConnectionError, ...) when it cannot reach the coordinator, as when the broker
        stopped because its only log dir failed. It reconnects by itself, and every record handled
        before is committed in PostgreSQL with its position: nothing to undo or redo."""
        batch = self._broker_wait(self._kafka.poll, timeout_ms=self.poll_timeout_ms)
        if self.broker_down_since is not None and batch is not None:
            down_s = round(time.monotonic() - self.broker_down_since, 1)
            log.info("consumer.broker_back", service=self.service, after_s=down_s)
            self.broker_down_since = None
        return batch or {}

    def _pause(self, seconds: float) -> None:
        self._stopped.wait(seconds)

    def _broker_unavailable(self, state: RetryCallState) -> None:
        self.retries += 1
        if self.broker_down_since is None:
            self.broker_down_since = time.monotonic()
        exc = state.outcome.exception() if state.outcome else None
        log.warning("consumer.broker_unavailable", service=self.service, error=type(exc).__name__)

    # -- one record ------------------------------------------------------------------------

    def handle(self, record: Any, *, defer_idle: bool = False) -> Outcome:
        """Process one Kafka record exactly once in effect; returns what happened.

        With `defer_idle`, the position of a record that saves nothing waits for `flush_idle`.
        """
        tracking = Tracking(tracking_name(record.topic, record.partition), record.offset)
        if self._passed_over(record):
            outcome = self._retrying(self._record, tracking, (), defer_idle=defer_idle)
            self.counts[outcome] += 1
            return outcome
        try:
            inbound = self.parse(record)
            if not inbound.tenant:
                raise ValueError("the record has no ce_tenant header")
        except Exception as exc:
            outcome = self._deadletter(record, tracking, reason_for(exc))
        else:
            outcome = self._react_until_recorded(record, inbound, tracking, defer_idle)
        self.counts[outcome] += 1
        return outcome

    def _passed_over(self, record: Any) -> bool:
        """True for a record of an event the reactions do not read (by its `ce_type` header)."""
        try:  # no type, or one that is not a contract's: parse it, and the dead letters get it
            contract = ContractId.from_ce_type(header(record, "ce_type") or "")
        except ContractViolation:
            return False
        return contract.event not in self.reactions.events

    def flush_idle(self) -> None:
        """Write the noted positions of records that saved nothing (one transaction each)."""
        self._flushed_at = time.monotonic()
        while self._idle:
            _name, tracking = self._idle.popitem()
            try:
                self._retrying(self._record, tracking, ())
            except _ReactAgain:  # nothing to react again to: a later position is recorded
                continue

    def _react_until_recorded(
        self, record: Any, inbound: InboundRecord, tracking: Tracking, defer_idle: bool
    ) -> Outcome:
        # A command saved one of the reaction's aggregates meanwhile: load and react again. A
        # conflict that persists (say, an aggregate id that already exists) is a poison record.
        for _ in range(MAX_CONFLICTS):
            try:
                outcome: Outcome = self._retrying(
                    self._react_and_record, record, inbound, tracking, defer_idle
                )
            except _ReactAgain:
                continue
            return outcome
        reason = f"Conflict: the reaction's aggregates conflicted {MAX_CONFLICTS} times"
        return self._deadletter(record, tracking, reason)

    def _react_and_record(
        self, record: Any, inbound: InboundRecord, tracking: Tracking, defer_idle: bool
    ) -> Outcome:
        with acting_as(reaction_context(self.service, inbound)):
            try:
                aggregates = self.reactions.react(self.app, inbound)
                return self._record(tracking, aggregates, defer_idle=defer_idle)
            except _ReactAgain:
                raise
            except Exception as exc:  # the reaction raised, or the store refused its events (NUL)
                if is_transient(exc):
                    raise
                return self._deadletter(record, tracking, reason_for(exc))

    def _record(
        self, tracking: Tracking, aggregates: Iterable[Any], *, defer_idle: bool = False
    ) -> Outcome:
        processing: ProcessingEvent[Any] = ProcessingEvent(tracking=tracking)
        processing.collect_events(*aggregates)
        if defer_idle and not processing.events:
            self._idle[tracking.application_name] = tracking
            return Outcome.PROCESSED
        self._idle.pop(tracking.application_name, None)  # this later position covers it
        try:
            self.app._record(processing)
        except IntegrityError:
            if self._already_tracked(tracking):
                log.info(
                    "consumer.duplicate",
                    position=tracking.application_name,
                    offset=tracking.notification_id,
                )
                return Outcome.DUPLICATE
            raise _ReactAgain from None
        return Outcome.PROCESSED

    def _already_tracked(self, tracking: Tracking) -> bool:
        current = self.app.process_recorder.max_tracking_id(tracking.application_name)
        return current is not None and current >= tracking.notification_id

    def _deadletter(self, record: Any, tracking: Tracking, reason: str) -> Outcome:
        if self._retrying(self._already_tracked, tracking):
            return Outcome.DUPLICATE
        assert self._deadletters is not None, "call start() or pass deadletters"
        # The dead letter must be durable before the position moves past the record.
        self._retrying(self._deadletters.send, record, reason)
        if self._quarantine is not None:
            self._retrying(self._quarantine.record, record, reason)
        log.warning("consumer.deadlettered", ref=ref_of(record), reason=reason.split(":", 1)[0])
        outcome = self._retrying(self._record, tracking, ())
        return Outcome.DEADLETTERED if outcome is Outcome.PROCESSED else outcome

    def _count_retry(self, state: RetryCallState) -> None:
        self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        log.warning("consumer.retrying", attempt=state.attempt_number, error=type(exc).__name__)

    # -- positions -------------------------------------------------------------------------

    def tracked_offset(self, topic: str, partition: int) -> int | None:
        """The last offset of this partition recorded in PostgreSQL (None if none)."""
        name = tracking_name(topic, partition)
        result: int | None = self._retrying(self.app.process_recorder.max_tracking_id, name)
        return result

    def position_partitions(self, partitions: Iterable[Any]) -> None:
        for tp in partitions:
            last = self.tracked_offset(tp.topic, tp.partition)
            if last is None:
                self._kafka.seek_to_beginning(tp)
            else:
                self._kafka.seek(tp, last + 1)
            at = None if last is None else last + 1
            log.info("consumer.positioned", topic=tp.topic, partition=tp.partition, next_offset=at)

    def _commit_hint(self, offsets: dict[Any, OffsetAndMetadata]) -> None:
        try:
            self._kafka.commit_async(offsets=offsets)
        except KafkaError as exc:  # only a hint: PostgreSQL holds the real position
            log.info("consumer.offset_hint_failed", error=type(exc).__name__)


class _SeekToTracked(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer

    def on_partitions_revoked(self, revoked: Any) -> None:
        """Nothing to do: whatever saved something is committed in PostgreSQL (an idle position
        not yet written makes the next owner read records that react to nothing once more)."""

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.consumer.position_partitions(assigned)


def run_consumer(
    service: str, app: CareApplication, reactions: Reactions, settings: Settings, **options: Any
) -> None:
    """Run the reaction consumer of `service` until SIGTERM or SIGINT (options: see Consumer)."""
    consumer = Consumer(service, app, reactions, settings, **options)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        consumer.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("consumer.starting", service=service, topics=list(reactions.topics))
    try:
        consumer.run()
    finally:
        consumer.close()
