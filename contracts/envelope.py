"""The Kafka record of one stored event, and back: CloudEvents 1.0 in Kafka binary mode.

Consumers parse with the `cloudevents` library's Kafka binding (`from_binary`). The relay does
not build a `CloudEvent` object per record: constructing and validating one and running
`to_binary` cost 15-20 us a record, half of kafka-python's own send, on the relay's hot path.
`build_record` writes the same headers from the same attributes (prefix `ce_`,
`datacontenttype` as `content-type`, `time` as RFC 3339 with `Z`); a unit test checks that they
match `to_binary`'s exactly. The value is serialised once, compact and in stored key order, so a
re-published record is byte-identical. See contracts/envelope.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from eventsourcing.utils import resolve_topic

from contracts.naming import event_name, publication_of, service_of
from contracts.privacy import Publication, labels_of
from contracts.records import InboundRecord, event_body, event_meta
from contracts.schemas import ContractId, SchemaRegistry, default_registry

CONTENT_TYPE = "application/json"
CONTENT_TYPE_BYTES = CONTENT_TYPE.encode()
# ce_id = uuid5(EVENT_ID_NAMESPACE, "<aggregate id>/<version>"): the same event always gets the
# same id, so a consumer can de-duplicate whatever the number of publications.
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://careledger.example/events")
_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes
_FORMAT = JSONFormat()


def event_id(aggregate_id: UUID | str, version: int) -> str:
    """The stable CloudEvents id of one stored event: uuid5(EVENT_ID_NAMESPACE, "<id>/<version>").

    Computed as uuid.uuid5 does (SHA-1, version and variant bits), without its UUID objects.
    """
    digest = bytearray(
        hashlib.sha1(  # noqa: S324 - uuid5 is SHA-1 by definition; not a security use
            _NAMESPACE_BYTES + f"{aggregate_id}/{version}".encode()
        ).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class OutboundRecord:
    """What the relay sends for one stored event (plus what it needs to check and log)."""

    contract: ContractId
    position: int
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    body: dict[str, Any]

    @property
    def ce_id(self) -> str:
        return dict(self.headers)["ce_id"].decode()


@lru_cache(maxsize=4096)
def _sensitivity_header(declared: tuple[str, ...], data: tuple[str, ...]) -> bytes:
    # A handful of label sets cover every record: cached, the header costs a lookup.
    return ",".join(labels_of(declared, data)).encode()


@lru_cache(maxsize=1024)
def _contract_of(stored_topic: str) -> tuple[ContractId, Publication]:
    """The contract an event's records have and how the event is published."""
    event_cls = resolve_topic(stored_topic)
    publication = publication_of(event_cls)
    version = publication.version or int(getattr(event_cls, "class_version", 1))
    contract = ContractId(service_of(stored_topic), event_name(stored_topic), version)
    return contract, publication


def build_record(
    *,
    stored_topic: str,
    aggregate_id: UUID,
    version: int,
    position: int,
    state: Mapping[str, Any],
    registry: SchemaRegistry | None = None,
    validate: bool = True,
) -> OutboundRecord:
    """The record for one decoded (and upcast) stored event; checked against its contract.

    The body leaves out the fields its class declares private (the store keeps them).
    """
    registry = registry or default_registry()
    contract, publication = _contract_of(stored_topic)
    body = publication.withdraw(event_body(aggregate_id, version, state))
    if validate:
        registry.validate(contract, body)
    meta = event_meta(state)
    subject = str(aggregate_id)
    timestamp = state["timestamp"]
    if not isinstance(timestamp, dt.datetime):
        timestamp = dt.datetime.fromisoformat(str(timestamp))
    source, ce_type, dataschema = _static_headers(contract, registry.dataschema_uri(contract))
    # The CloudEvents attributes as Kafka binary-mode headers, in the order and form that
    # `cloudevents`' to_binary writes them (tests/unit/contracts/test_envelope.py checks it).
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id(subject, version).encode()),
        ("ce_source", source),
        ("ce_type", ce_type),
        ("ce_subject", subject.encode()),
        ("ce_time", _header_text(timestamp).encode()),
        ("ce_dataschema", dataschema),
        ("content-type", CONTENT_TYPE_BYTES),
        ("ce_tenant", str(meta.get("tenant") or "").encode()),
        ("ce_actor", str(meta.get("actor_id") or "").encode()),
        ("ce_actorrole", str(meta.get("actor_role") or "").encode()),
    ]
    for name, key in (("ce_correlationid", "correlation_id"), ("ce_causationid", "causation_id")):
        if meta.get(key) is not None:
            headers.append((name, str(meta[key]).encode()))
    headers += [
        ("ce_sequence", str(version).encode()),
        ("ce_position", str(position).encode()),
        ("ce_sensitivity", _sensitivity_header(publication.labels, _data_labels(state))),
    ]
    return OutboundRecord(
        contract=contract,
        position=position,
        key=subject.encode(),
        value=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        headers=headers,
        body=body,
    )


@lru_cache(maxsize=1024)
def _static_headers(contract: ContractId, dataschema: str) -> tuple[bytes, bytes, bytes]:
    return (
        f"/careledger/{contract.service}".encode(),
        contract.ce_type.encode(),
        dataschema.encode(),
    )


def _data_labels(state: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(label) for label in state.get("security_labels") or ())


def _header_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return value if isinstance(value, str) else str(value)


def to_cloudevent(record: OutboundRecord) -> CloudEvent:
    """The record as a `cloudevents` CloudEvent (for tools and tests, not the hot path)."""
    message = KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    event = from_binary(message, _FORMAT)
    assert isinstance(event, CloudEvent)
    return event


def parse_record(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
    headers: Iterable[tuple[str, bytes]],
    registry: SchemaRegistry | None = None,
    validate: bool = True,
) -> InboundRecord:
    """A consumed record as an InboundRecord; ContractViolation if it does not fit its contract."""
    header_map = dict(headers)
    if "ce_type" not in header_map or "ce_id" not in header_map:
        raise ValueError(f"{topic}/{partition}@{offset} is not a careledger CloudEvent record")
    event = from_binary(KafkaMessage(headers=header_map, key=key, value=value), _FORMAT)
    body = event.get_data()
    if not isinstance(body, dict):
        raise ValueError(f"{topic}/{partition}@{offset}: the value is not a JSON object")
    ce_type = event.get_type()
    if validate:
        (registry or default_registry()).validate(ContractId.from_ce_type(ce_type), body)
    labels = header_map.get("ce_sensitivity", b"").decode()
    return InboundRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        ce_id=event.get_id(),
        ce_type=ce_type,
        subject=event.get_subject() or "",
        tenant=str(event.get_extension("tenant") or ""),
        body=body,
        headers={name: raw.decode() for name, raw in header_map.items()},
        labels=_labels(labels),
    )


def parse_consumer_record(record: Any, registry: SchemaRegistry | None = None) -> InboundRecord:
    """`parse_record` for a kafka-python ConsumerRecord."""
    return parse_record(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=record.headers or (),
        registry=registry,
    )


def _labels(joined: str) -> Sequence[str]:
    return tuple(label for label in joined.split(",") if label)
