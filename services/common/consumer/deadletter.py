"""Records a consumer cannot process go to `careledger.deadletter`, with why and where from.

The dead-letter record keeps the original key, value and headers and adds `dl_reason`,
`dl_topic`, `dl_partition`, `dl_offset` and `dl_service`, so an operator can find the source
record and replay it once the cause is fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from kafka import KafkaProducer

from contracts.topics import DEADLETTER_TOPIC
from services.common.kafka_access import KafkaTarget, as_access

MAX_REASON_CHARS = 1_000
DL_HEADERS = ("dl_reason", "dl_topic", "dl_partition", "dl_offset", "dl_service")


def deadletter_headers(record: Any, *, service: str, reason: str) -> list[tuple[str, bytes]]:
    """The original headers (minus any earlier `dl_*`) plus where the record came from and why."""
    original: Sequence[tuple[str, bytes]] = record.headers or ()
    kept = [(k, v) for k, v in original if k not in DL_HEADERS]
    added = {
        "dl_reason": reason[:MAX_REASON_CHARS],
        "dl_topic": record.topic,
        "dl_partition": str(record.partition),
        "dl_offset": str(record.offset),
        "dl_service": service,
    }
    return kept + [(k, v.encode()) for k, v in added.items()]


def reason_for(exc: BaseException) -> str:
    """A short reason: the exception type and its message (ids only in our own messages)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class DeadLetterSink(Protocol):
    def send(self, record: Any, reason: str) -> None: ...
    def close(self) -> None: ...


class DeadLetters:
    """Sends records to the dead-letter topic and waits for the broker's acknowledgement."""

    def __init__(
        self,
        kafka: KafkaTarget,
        *,
        service: str,
        topic: str = DEADLETTER_TOPIC,
        timeout_s: float = 30.0,
    ) -> None:
        self.service = service
        self.topic = topic
        self.timeout_s = timeout_s
        self._producer: Any = KafkaProducer(
            **as_access(kafka).options(),
            client_id=f"careledger-{service}-deadletter",
            acks="all",
            enable_idempotence=True,
        )

    def send(self, record: Any, reason: str) -> None:
        """Write `record` to the dead-letter topic; returns once the broker has it (acks=all)."""
        future = self._producer.send(
            self.topic,
            key=record.key,
            value=record.value,
            headers=deadletter_headers(record, service=self.service, reason=reason),
        )
        self._producer.flush(timeout=self.timeout_s)
        future.get(timeout=self.timeout_s)

    def close(self) -> None:
        self._producer.close(timeout=self.timeout_s)
