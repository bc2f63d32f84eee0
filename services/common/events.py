"""Stable stored names for events and the metadata every stored event carries.

Stored events are named `careledger.<service>.<EventName>` (never a Python class path, so a
class may move or be renamed without breaking history) and versioned by the event class's
`class_version`, with `upcast_vN_vN+1` static methods for older versions (the library's own
upcasting). The mapper adds who, where and why from the command context to every event it
stores, under the `_meta` key of the event state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import CommandMethodDecorator, DomainEvent
from eventsourcing.persistence import Mapper, StoredEvent, Transcoding
from eventsourcing.utils import register_topic, resolve_topic

from contracts.naming import PREFIX, service_of
from contracts.privacy import Publication
from contracts.records import META_KEY
from services.common.context import maybe_context
from services.common.errors import RuleBroken, TooLarge
from services.common.settings import DEFAULT_MAX_EVENT_BYTES, RECORD_MARGIN_BYTES
from services.common.validation import problems

_BASE_NAMES = frozenset({"Event", "Created"})  # bases; name creation events explicitly
_named: dict[str, type[Any]] = {}
_PUBLICATION = "careledger_publication"
_Method = TypeVar("_Method")


def published(
    *,
    labels: Iterable[str],
    private: Iterable[str] = (),
    coded: Mapping[str, Iterable[str]] | None = None,
    version: int | None = None,
) -> Callable[[_Method], _Method]:
    """Declare how an `@event` method's event is published (above or below `@event(...)`).

    `labels`: HL7 HCS codes every record of it carries, at least N or R; `private`: field
    paths kept in the store and off the topic; `coded`: fields published only when they hold
    one of the given codes; `version`: the contract version of the record (default: the
    class_version). `name_events` puts it on the event class. See contracts/envelope.md.
    """
    publication = Publication(
        labels=tuple(labels),
        private=tuple(private),
        coded={path: frozenset(codes) for path, codes in (coded or {}).items()},
        version=version,
    )

    def declare(method: _Method) -> _Method:
        setattr(getattr(method, "decorated_func", method), _PUBLICATION, publication)
        return method

    return declare


def name_events(service: str, *aggregates: type[Any]) -> None:
    """Give each aggregate class and its event classes a stable stored name.

    Call once at the bottom of a service's domain module. Event names must be unique within a
    service (name creation events `PlanCreated`, not `Created`).
    """
    for aggregate in aggregates:
        _assign(f"{PREFIX}.{service}.{aggregate.__name__}", aggregate)
        _attach_publications(aggregate)
        for name, attr in vars(aggregate).items():
            if isinstance(attr, type) and issubclass(attr, DomainEvent) and name not in _BASE_NAMES:
                _assign(f"{PREFIX}.{service}.{name}", attr)


def _attach_publications(aggregate: type[Any]) -> None:
    for attr in list(vars(aggregate).values()):
        if isinstance(attr, CommandMethodDecorator) and attr.event_cls_name:
            publication = getattr(attr.decorated_func, _PUBLICATION, None)
            if publication is not None:
                getattr(aggregate, attr.event_cls_name).PUBLICATION = publication


def _assign(topic: str, cls: type[Any]) -> None:
    existing = _named.get(topic)
    if existing is not None and existing is not cls:
        raise TypeError(f"stored name {topic!r} is taken by {existing.__qualname__}")
    cls.TOPIC = topic  # eventsourcing's get_topic() honours a class's TOPIC attribute
    _named[topic] = cls
    register_topic(topic, cls)


def stored_name(cls: type[Any]) -> str:
    """`careledger.<service>.<EventName>`; raises for a class that `name_events` did not name."""
    topic = cls.__dict__.get("TOPIC")
    if not isinstance(topic, str) or _named.get(topic) is not cls:
        raise TypeError(f"{cls.__qualname__} has no stable stored name: call name_events()")
    return topic


def named_event_classes(service: str | None = None) -> dict[str, type[Any]]:
    """Every named event class (not aggregate), by stored name, optionally of one service."""
    return {
        topic: cls
        for topic, cls in _named.items()
        if issubclass(cls, DomainEvent) and (service is None or service_of(topic) == service)
    }


class DateAsISO(Transcoding):
    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class CareMapper(Mapper[UUID]):
    """Stores events under their stable name, with the command context as `_meta`.

    An event the stores or Kafka could not hold is refused here, before it is stored: text with
    U+0000 or a lone surrogate (422, naming the event field) and an event over `max_event_bytes`
    (413): its record would be over the topics' max.message.bytes, which the broker refuses
    (`Settings.max_event_bytes`). The API refuses such input first; this also covers what
    consumers' reactions save.
    """

    def __init__(
        self, *args: Any, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_event_bytes = max_event_bytes

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = type(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        if META_KEY not in state:
            ctx = maybe_context()
            if ctx is None:
                raise LookupError(
                    f"{cls.__qualname__} stored outside a command context: use acting_as(...)"
                )
            state[META_KEY] = ctx.as_metadata()
        try:
            data = self.transcoder.encode(state)
        except UnicodeEncodeError:
            data = b""  # a lone surrogate: _refuse_unstorable names the field
        if not data or _ESCAPED_NUL in data:
            _refuse_unstorable(cls.__name__, state)
        if len(data) > self.max_event_bytes:
            raise TooLarge(
                f"the change is {len(data)} bytes once stored, over the {self.max_event_bytes} "
                f"an event may take to fit one Kafka record (the topics' max.message.bytes, "
                f"CARELEDGER_KAFKA_MAX_MESSAGE_BYTES, less {RECORD_MARGIN_BYTES} for the "
                "record's envelope): send less text or fewer items",
                max_bytes=self.max_event_bytes,
            )
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=stored_name(cls),
            state=data,
        )


_ESCAPED_NUL = b"\\u0000"  # how the JSON transcoder writes U+0000 (and "\\u0000" as text)


def _refuse_unstorable(event: str, state: dict[str, Any]) -> None:
    """422 naming the first field of the event that the stores cannot hold, if any."""
    for where, why in problems(state, text_only=True):
        raise RuleBroken(f"{event}.{where} {why}", errors={where: why})


def decode_state(mapper: Mapper[UUID], stored_topic: str, state: bytes) -> dict[str, Any]:
    """The event state of a stored record as plain Python values, upcast to the current version."""
    cls = resolve_topic(stored_topic)
    data: dict[str, Any] = mapper.transcoder.decode(state)
    from_version = data.pop("class_version", 1)
    while from_version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(data)
        from_version += 1
    return data
