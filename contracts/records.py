"""The body of a Kafka record: a stored event's state as plain JSON, as its contract defines.

Body = the event's own fields (JSON values: UUID -> str, date/datetime -> ISO 8601, Decimal -> str)
plus `id` (aggregate id), `version` (aggregate version) and `timestamp` (when it was stored).
The who/where/why (`_meta`) travels in headers, not in the body. A consumed record, decoded, is
an `InboundRecord`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

META_KEY = "_meta"
_DROPPED = frozenset({META_KEY, "originator_topic", "class_version"})


def to_json_value(value: Any) -> Any:
    """Plain JSON for one decoded event value."""
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_json_value(value.value)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_json_value(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    return value


def event_body(aggregate_id: UUID | str, version: int, state: Mapping[str, Any]) -> dict[str, Any]:
    """The record value for one decoded stored event state."""
    body = {k: to_json_value(v) for k, v in state.items() if k not in _DROPPED}
    body["id"] = str(aggregate_id)
    body["version"] = version
    return body


def event_meta(state: Mapping[str, Any]) -> dict[str, Any]:
    """The who/where/why stored with the event (empty for events stored without one)."""
    meta = state.get(META_KEY)
    return dict(meta) if isinstance(meta, Mapping) else {}


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
