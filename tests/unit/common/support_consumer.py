"""The in-memory consumer the consumer tests drive: a Ping service, an Echo reaction, records."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import OperationalError
from kafka.consumer.fetcher import ConsumerRecord

from contracts.envelope import build_record, parse_consumer_record
from contracts.records import META_KEY, InboundRecord
from contracts.schemas import SchemaRegistry
from services.common.consumer.loop import Consumer
from services.common.errors import RuleBroken
from services.common.events import name_events
from services.common.settings import Settings
from services.common.store.application import CareApplication, build_application

TOPIC = "careledger.cunit"
ECHO_IDS = uuid.UUID("6f1f3c2e-7d4b-4c55-9a9e-0e4f2b1c7a10")


class Ping(Aggregate):
    """The other service's aggregate whose events the consumer reads."""

    @event("PingSent")
    def __init__(self, tenant: str, n: int) -> None:
        self.tenant = tenant
        self.n = n


class Echo(Aggregate):
    """What the reacting service creates: one per record, id derived from the record's ce_id."""

    @staticmethod
    def create_id(source_ce_id: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(ECHO_IDS, source_ce_id)

    @event("EchoCreated")
    def __init__(self, tenant: str, source_ce_id: str, n: int) -> None:
        self.tenant = tenant
        self.source_ce_id = source_ce_id
        self.n = n


name_events("cunit", Ping, Echo)


EchoApp = type("EchoApp", (CareApplication,), {"name": "cunit"})


class EchoReactions:
    topics: Sequence[str] = (TOPIC,)
    events = frozenset({"PingSent"})

    def __init__(self, transient_failures: int = 0) -> None:
        self.transient_failures = transient_failures

    def react(self, app: Any, record: InboundRecord) -> list[Any]:
        if self.transient_failures:
            self.transient_failures -= 1
            raise OperationalError("database went away")
        if record.body["n"] < 0:
            raise RuleBroken("n must not be negative", errors={"n": "negative"})
        if record.body["n"] == 0:
            return []
        return [Echo(tenant=record.tenant, source_ce_id=record.ce_id, n=record.body["n"])]


class ListDeadLetters:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, str]] = []

    def send(self, record: Any, reason: str) -> None:
        self.sent.append((record, reason))

    def close(self) -> None:
        pass


def schema_registry(tmp_path: Path) -> SchemaRegistry:
    """A schema registry that knows PingSent v1 only."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "version": {"type": "integer"},
            "timestamp": {"type": "string"},
            "tenant": {"type": "string"},
            "n": {"type": "integer"},
        },
        "required": ["id", "version", "timestamp", "tenant", "n"],
        "additionalProperties": False,
    }
    (tmp_path / "cunit").mkdir()
    (tmp_path / "cunit" / "PingSent.v1.json").write_text(json.dumps(schema))
    return SchemaRegistry(tmp_path)


def ping_record(registry: SchemaRegistry, offset: int, n: int, *, partition: int = 0) -> Any:
    ping_id = uuid.uuid4()
    state = {
        "tenant": "practice-1",
        "n": n,
        "timestamp": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        META_KEY: {
            "actor_id": "u1",
            "actor_role": "clinician",
            "tenant": "practice-1",
            "correlation_id": "corr-1",
            "causation_id": None,
        },
    }
    out = build_record(
        stored_topic="careledger.cunit.PingSent",
        aggregate_id=ping_id,
        version=1,
        position=offset + 1,
        state=state,
        registry=registry,
    )
    return ConsumerRecord(
        TOPIC, partition, -1, offset, 0, 0, out.key, out.value, out.headers, None, 0, 0, 0
    )


def make_consumer(
    registry: SchemaRegistry, reactions: EchoReactions | None = None
) -> tuple[Consumer, CareApplication, ListDeadLetters]:
    app: CareApplication = build_application(EchoApp, None)
    letters = ListDeadLetters()
    consumer = Consumer(
        "cunit",
        app,
        reactions or EchoReactions(),
        Settings(env="dev"),
        parse=lambda r: parse_consumer_record(r, registry),
        deadletters=letters,
        max_backoff_s=0.01,
    )
    return consumer, app, letters


def stored_events(app: CareApplication) -> list[Any]:
    return list(app.recorder.select_notifications(start=1, limit=1_000))
