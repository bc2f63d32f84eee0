"""Relay throughput (store -> Kafka, transactional, validated) vs kafka-python's raw producer.

    .venv/bin/python bench/relay.py [--events 50000] [--batch-size 500]

Needs the local stack (`careledger stack up --infra-only`). Stores N events of a bench-only
aggregate in a private PostgreSQL schema (not timed), then times (a) the relay publishing them
to a private topic, from its first read to its last commit (each event's free-text note is
declared private: the relay leaves it out of the record), and (b) a plain idempotent
producer (acks=all, the relay's batch settings, no transactions) sending the very same N
records (keys, values, headers), encoded beforehand. Prints figures and, last, one line of
JSON with both and the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.domain import Aggregate, event
from kafka import KafkaProducer

from contracts.envelope import OutboundRecord
from contracts.topics import TopicSpec
from services.common.context import CommandContext
from services.common.events import name_events, published
from services.common.relay.config import RelayConfig
from services.common.relay.kafka import PRODUCER_SETTINGS
from services.common.relay.publisher import Relay
from services.common.settings import load_settings
from services.common.store.application import CareApplication, build_application
from services.stack.state import read_stack_info
from services.stack.topics import admin_client, topic_request


class BenchCase(Aggregate):
    @event("BenchCaseOpened")
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    def note(self, n: int) -> None:
        self._noted(n=n, code="F10.20", labels=["R"], note=NOTE)

    # The note is free text: the store keeps it, the record leaves it out (v2).
    @published(labels=["R", "ETH"], private=["note"], version=2)
    @event("BenchCaseNoted")
    def _noted(self, n: int, code: str, labels: list[str], note: str) -> None:
        self.n = n


NOTE = "client described drinking most nights since the job loss; partner unaware"
name_events("relaybench", BenchCase)
_BASE = {"id": {"type": "string"}, "version": {"type": "integer"}, "timestamp": {"type": "string"}}
_NOTED = {
    **_BASE,
    "n": {"type": "integer"},
    "code": {"type": "string"},
    "labels": {"type": "array", "items": {"type": "string"}},
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "BenchCaseOpened.v1": {**_BASE, "tenant": {"type": "string"}},
    "BenchCaseNoted.v1": {**_NOTED, "note": {"type": "string"}},
    "BenchCaseNoted.v2": _NOTED,
}


def write_schemas(root: Path) -> None:
    (root / "relaybench").mkdir(parents=True)
    for name, props in SCHEMAS.items():
        doc = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": props,
            "required": sorted(props),
            "additionalProperties": False,
        }
        (root / "relaybench" / f"{name}.json").write_text(json.dumps(doc))


def store_events(app: Any, total: int, per_aggregate: int = 10) -> None:
    ctx = CommandContext(actor_id="u-bench", actor_role="clinician", tenant="t-bench")
    cases = []
    for _ in range(total // per_aggregate):
        case = BenchCase(tenant=ctx.tenant)
        for n in range(1, per_aggregate):
            case.note(n)
        cases.append(case)
    for i in range(0, len(cases), 50):
        app.save_as(ctx, *cases[i : i + 50])


def time_relay(relay: Relay, total: int) -> tuple[float, float, list[OutboundRecord]]:
    """(events/s from its first commit to its last, start-up seconds, the records it sent)."""
    notifications = relay.source.app.recorder.select_notifications(1, total)
    records = [relay.source.record(n) for n in notifications]
    runner = threading.Thread(target=relay.run)
    started = time.perf_counter()
    runner.start()
    while relay.position == 0:
        time.sleep(0.001)
    first_at, first = time.perf_counter(), relay.position
    while relay.position < total:
        time.sleep(0.001)
    elapsed = time.perf_counter() - first_at
    relay.stop.set()
    runner.join()
    return (total - first) / elapsed, first_at - started, records


def time_raw(bootstrap: str, topic: str, records: list[OutboundRecord]) -> float:
    """The same records (keys, values, headers), already encoded, sent and flushed."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_SETTINGS)
    producer.send(topic, value=b"{}", key=records[0].key).get(30)  # connected, metadata known
    started = time.perf_counter()
    for r in records:
        producer.send(topic, value=r.value, key=r.key, headers=r.headers)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    info = read_stack_info()
    settings = load_settings(
        database_url=info.database_url, kafka_bootstrap=info.kafka_bootstrap, env="dev"
    )
    suffix = uuid.uuid4().hex[:10]
    store, topics = (
        f"relaybench_{suffix}",
        [f"bench.relay.{suffix}", f"bench.raw.{suffix}", f"bench.checkpoints.{suffix}"],
    )
    admin = admin_client(info.kafka_bootstrap)
    with psycopg.connect(info.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {store}")
    try:
        admin.create_topics(
            {
                topics[0]: topic_request(TopicSpec(topics[0], 6), 1),
                topics[1]: topic_request(TopicSpec(topics[1], 6), 1),
                topics[2]: topic_request(TopicSpec(topics[2], 1, cleanup_policy="compact"), 1),
            },
            wait_for_metadata=True,
        )
        with tempfile.TemporaryDirectory() as tmp:
            write_schemas(Path(tmp))
            app_cls = type("BenchApp", (CareApplication,), {"name": store})
            app = build_application(app_cls, settings, create_table=True)
            store_events(app, args.events)
            app.close()
            config = RelayConfig(
                service=store,
                topic=topics[0],
                transactional_id=f"bench-relay-{suffix}",
                checkpoint_topic=topics[2],
                checkpoint_key=store,
                batch_size=args.batch_size,
                schema_root=Path(tmp),
            )
            relay_rate, startup_s, records = time_relay(Relay(config, settings), args.events)
        raw_s = time_raw(info.kafka_bootstrap, topics[1], records)
        sample = records[-1]
    finally:
        admin.delete_topics(topics)
        admin.close()
        with psycopg.connect(info.database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {store} CASCADE")
    raw_rate = args.events / raw_s
    size = len(sample.value) + sum(len(k) + len(v) for k, v in sample.headers)
    print(f"events: {args.events}, value {len(sample.value)} B, value+headers {size} B")
    print(f"relay start-up (spawn reader, fence, read checkpoint): {startup_s:.2f} s")
    print(f"relay (read, decode, validate, CloudEvents, transactional): {relay_rate:,.0f} events/s")
    print(f"kafka-python raw producer (idempotent, acks=all): {raw_rate:,.0f} records/s")
    print(f"ratio relay/raw: {relay_rate / raw_rate:.2f}")
    print(
        json.dumps(
            {
                "events": args.events,
                "batch_size": args.batch_size,
                "relay_events_per_s": round(relay_rate),
                "raw_records_per_s": round(raw_rate),
                "ratio": round(relay_rate / raw_rate, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
