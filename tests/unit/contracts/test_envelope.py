"""The Kafka record of a stored event: key, contract body, CloudEvents headers, and back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.bindings.kafka import to_binary
from cloudevents.core.formats.json import JSONFormat
from eventsourcing.domain import Aggregate, event

from contracts.envelope import (
    EVENT_ID_NAMESPACE,
    build_record,
    event_id,
    parse_record,
    to_cloudevent,
)
from contracts.records import META_KEY
from contracts.schemas import ContractViolation, SchemaRegistry
from services.common.context import CommandContext
from services.common.events import decode_state, name_events, published
from services.common.store.application import CareApplication, build_application


class Chart(Aggregate):
    @event("ChartOpened")
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    def flag(self, reason_code: str, labels: list[str]) -> None:
        self._flagged(reason_code=reason_code, security_labels=labels)

    @published(labels=["R"])
    @event("ChartFlagged")
    def _flagged(self, reason_code: str, security_labels: list[str]) -> None:
        self.reason_code = reason_code


name_events("envelopeprobe", Chart)

BASE = {"id": {"type": "string"}, "version": {"type": "integer"}, "timestamp": {"type": "string"}}
FLAGGED = {
    **BASE,
    "reason_code": {"type": "string", "maxLength": 8},
    "security_labels": {"type": "array", "items": {"type": "string"}},
}


class ChartApp(CareApplication):
    name = "envelopeprobe"


def write_schema(root: Path, event_name: str, properties: dict[str, Any]) -> None:
    folder = root / "envelopeprobe"
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }
    (folder / f"{event_name}.v1.json").write_text(json.dumps(document))


@pytest.fixture
def registry(tmp_path: Path) -> SchemaRegistry:
    write_schema(tmp_path, "ChartOpened", {**BASE, "tenant": {"type": "string"}})
    write_schema(tmp_path, "ChartFlagged", FLAGGED)
    return SchemaRegistry(tmp_path)


CTX = CommandContext(
    actor_id="u-7",
    actor_role="clinician",
    tenant="practice-1",
    correlation_id="corr-1",
    causation_id="cause-1",
)


def stored_records(reason_code: str = "SUD") -> tuple[Chart, list[dict[str, Any]]]:
    app = build_application(ChartApp, None)
    chart = Chart(tenant=CTX.tenant)
    chart.flag(reason_code, ["42CFRPart2"])
    app.save_as(CTX, chart)
    out = []
    for n in app.recorder.select_notifications(1, 10):
        out.append(
            {
                "stored_topic": n.topic,
                "aggregate_id": n.originator_id,
                "version": n.originator_version,
                "position": n.id,
                "state": decode_state(app.mapper, n.topic, n.state),
            }
        )
    return chart, out


def test_record_key_is_the_aggregate_id_and_value_is_the_contract_body(
    registry: SchemaRegistry,
) -> None:
    chart, stored = stored_records()
    record = build_record(**stored[1], registry=registry)
    assert record.key == str(chart.id).encode()
    body = json.loads(record.value)
    assert body["reason_code"] == "SUD" and body["id"] == str(chart.id) and body["version"] == 2
    assert META_KEY not in body


def test_headers_say_what_who_where_why_and_how_sensitive_in_cloudevents_binary_mode(
    registry: SchemaRegistry,
) -> None:
    chart, stored = stored_records()
    headers = {k: v.decode() for k, v in build_record(**stored[1], registry=registry).headers}
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "careledger.envelopeprobe.ChartFlagged.v1"
    assert headers["ce_source"] == "/careledger/envelopeprobe"
    assert headers["ce_subject"] == str(chart.id)
    assert headers["ce_dataschema"].endswith("/envelopeprobe/ChartFlagged.v1.json")
    assert headers["content-type"] == "application/json"
    assert headers["ce_time"].endswith("Z")
    assert (headers["ce_tenant"], headers["ce_actor"], headers["ce_actorrole"]) == (
        "practice-1",
        "u-7",
        "clinician",
    )
    assert (headers["ce_correlationid"], headers["ce_causationid"]) == ("corr-1", "cause-1")
    assert (headers["ce_sequence"], headers["ce_position"]) == ("2", "2")
    assert headers["ce_sensitivity"] == "42CFRPart2,NORDSCLCD,R"


def test_ce_id_is_the_same_whenever_the_same_event_is_published_again(
    registry: SchemaRegistry,
) -> None:
    chart, stored = stored_records()
    first = build_record(**stored[1], registry=registry)
    again = build_record(**stored[1], registry=registry)
    assert first.ce_id == again.ce_id == event_id(chart.id, 2)
    assert (first.value, first.headers) == (again.value, again.headers)
    assert build_record(**stored[0], registry=registry).ce_id != first.ce_id


def test_a_published_record_parses_back_into_an_inbound_record(registry: SchemaRegistry) -> None:
    chart, stored = stored_records()
    record = build_record(**stored[1], registry=registry)
    inbound = parse_record(
        topic="careledger.envelopeprobe",
        partition=3,
        offset=42,
        key=record.key,
        value=record.value,
        headers=record.headers,
        registry=registry,
    )
    assert inbound.ce_id == record.ce_id
    assert inbound.ce_type == "careledger.envelopeprobe.ChartFlagged.v1"
    assert inbound.event_name == "ChartFlagged"
    assert (inbound.subject, inbound.tenant) == (str(chart.id), "practice-1")
    assert inbound.body == record.body
    assert list(inbound.labels) == ["42CFRPart2", "NORDSCLCD", "R"]
    assert (inbound.partition, inbound.offset) == (3, 42)


def test_a_body_that_breaks_its_contract_is_refused_without_echoing_its_values(
    registry: SchemaRegistry,
) -> None:
    _, stored = stored_records(reason_code="JaneDoe-free-text")
    with pytest.raises(ContractViolation, match="reason_code: fails 'maxLength'") as caught:
        build_record(**stored[1], registry=registry)
    assert "JaneDoe" not in str(caught.value)


def test_an_event_without_a_contract_is_refused(tmp_path: Path) -> None:
    _, stored = stored_records()
    with pytest.raises(ContractViolation, match="no contract for"):
        build_record(**stored[0], registry=SchemaRegistry(tmp_path))


def test_headers_are_exactly_what_the_cloudevents_kafka_binding_writes(
    registry: SchemaRegistry,
) -> None:
    _, stored = stored_records()
    record = build_record(**stored[1], registry=registry)
    from_library = to_binary(to_cloudevent(record), JSONFormat())
    # from_binary keeps the record key as the `partitionkey` extension; the key stays a key.
    assert from_library.headers.pop("ce_partitionkey") == record.key
    assert dict(record.headers) == from_library.headers
    assert json.loads(from_library.value) == json.loads(record.value)


def test_event_id_is_the_uuid5_of_aggregate_id_and_version() -> None:
    aggregate = uuid.uuid4()
    expected = uuid.uuid5(EVENT_ID_NAMESPACE, f"{aggregate}/7")
    assert event_id(aggregate, 7) == str(expected)
