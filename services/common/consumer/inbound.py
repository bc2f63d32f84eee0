"""What a service's reactions provide to its consumer, which hands them InboundRecords."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from contracts.records import InboundRecord


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
