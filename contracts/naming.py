"""How a stored event is named, and what its record is called on Kafka.

Stored names are `careledger.<service>.<EventName>` (services/common/events.py gives each event
class one); the record's CloudEvents type adds the contract version,
`careledger.plan.FormatShifted.v1`. An event class declares how it is published with a
`Publication` (contracts/privacy.py), read back with `publication_of`.
"""

from __future__ import annotations

from typing import Any

from contracts.privacy import UNDECLARED, Publication

PREFIX = "careledger"


def event_type(topic: str, version: int) -> str:
    """The CloudEvents type of a stored event: `careledger.plan.FormatShifted.v1`."""
    return f"{topic}.v{version}"


def service_of(topic: str) -> str:
    """`plan` for `careledger.plan.FormatShifted`."""
    return topic.split(".")[1]


def event_name(topic: str) -> str:
    """`FormatShifted` for `careledger.plan.FormatShifted`."""
    return topic.rsplit(".", 1)[1]


def publication_of(event_cls: type[Any]) -> Publication:
    """The declared publication of an event class (R and nothing withdrawn if none)."""
    found = getattr(event_cls, "PUBLICATION", None)
    return found if isinstance(found, Publication) else UNDECLARED
