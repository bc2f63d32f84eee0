"""A record another service published, as a service's reactions see it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class InboundRecord:
    """One Kafka record, decoded: `ce_type`, `subject` (aggregate id) and the JSON body."""

    topic: str
    partition: int
    offset: int
    ce_id: str
    ce_type: str  # e.g. "careledger.plan.FormatShifted.v1"
    subject: str
    tenant: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    labels: Sequence[str] = ()

    @property
    def event_name(self) -> str:
        """`FormatShifted` for `careledger.plan.FormatShifted.v1`."""
        return self.ce_type.split(".")[2]


class Reactions(Protocol):
    """What a service's `reactions.py` provides to the consumer.

    `react` loads and changes aggregates in memory and returns them unsaved (pending events);
    the consumer saves them together with the record's position in one transaction, as the
    system actor, with causation id = the record's ce_id. It returns [] for records it ignores.
    """

    topics: Sequence[str]
    # Event names (`FormatShifted`) `react` can act on: records of other events are passed
    # over on their `ce_type` header alone, without being parsed or checked against their
    # contract (checking what this service does not read is the relay's and the owner's job).
    events: frozenset[str]

    def react(self, app: Any, record: InboundRecord) -> list[Any]: ...
