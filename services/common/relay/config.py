"""What a relay is told, what it hands around and why it stops: nothing here runs it.

The CLI, the reader's child process, the quarantine, the status command and the tests take
these without importing the publisher (or kafka-python's producer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from contracts.topics import ACCESS_TOPIC, CHECKPOINT_TOPIC

Wire = tuple[bytes, bytes, list[tuple[str, bytes]], int]  # key, value, headers, partition

# Exit codes of `careledger relay`, one per reason a relay stops that an operator must act on.
EXIT_FENCED = 3
EXIT_TOO_LARGE = 5
EXIT_TOO_MANY_HELD = 6


@dataclass(frozen=True)
class Poison:
    """A stored event that cannot become a record (undecodable, no contract, breaks it)."""

    position: int
    aggregate_id: str
    event_type: str
    reason: str


Batch = tuple[list[Wire | Poison], int]  # records and the last notification id they cover


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


class RelayFenced(RuntimeError):
    """A newer relay with the same transactional id took over: this one must exit."""


class RecordTooLarge(Exception):
    """A record the broker would refuse: the relay stops and names the position (exit 5)."""

    def __init__(self, position: int, size: int, limit: int) -> None:
        super().__init__(position, size, limit)  # args as given: it crosses a process (pickle)
        self.position, self.size, self.limit = position, size, limit

    def __str__(self) -> str:
        size = f"a {self.size}-byte record" if self.size else "a record"
        return (
            f"the event at position {self.position} makes {size}, over the {self.limit} bytes "
            "the topic takes (max.message.bytes): raise the topic's limit, then restart"
        )


class TooManyHeld(RuntimeError):
    """So many events are quarantined that the cause is not one bad record (exit 6)."""
