"""The consumer when PostgreSQL stops answering: it waits and retries, never skips a record.

The outage is real for the consumer under test only: it reaches PostgreSQL through a TCP relay
that this test cuts (every connection closed, new ones dropped) and then restores, so the
shared database keeps serving everyone else.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from psycopg.conninfo import make_conninfo

from contracts.envelope import parse_consumer_record
from services.common.consumer.loop import Consumer, Outcome
from services.common.settings import Settings
from services.common.store.application import build_application
from tests.integration.support_consumer import (
    TEST_KAFKA,
    EchoReactions,
    app_class,
    echoed,
    ping,
    produce,
    schema,
    stored_count,
    topic,
    write_registry,
)
from tests.integration.support_pg_link import CuttableLink, link

__all__ = ["link", "schema", "topic"]  # fixtures shared with the exactly-once tests
pytestmark = pytest.mark.integration
# Longer than eventsourcing's own retries (10 x (connect timeout 1s + 0.2s)), so the consumer's
# backoff loop is what keeps the record.
OUTAGE_S = 15.0


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_consumer_waits_out_a_database_outage_and_then_processes_every_record_once(
    kafka_bootstrap: str,
    database_url: str,
    topic: str,
    schema: str,
    link: CuttableLink,
    tmp_path: Path,
) -> None:
    registry = write_registry(tmp_path)
    records = [ping(registry, n) for n in range(200)]
    produce(kafka_bootstrap, topic, records)
    via_link = make_conninfo(database_url, host="127.0.0.1", port=str(link.port))
    settings = Settings(env="dev", database_url=via_link, kafka_bootstrap=kafka_bootstrap)
    consumer = Consumer(
        "cexact",
        build_application(app_class(schema), settings, env={"POSTGRES_CONNECT_TIMEOUT": "1"}),
        EchoReactions(topic, delay_s=0.01),
        settings,
        parse=lambda r: parse_consumer_record(r, registry),
        group_id=f"test-{uuid.uuid4().hex}",
        kafka_options=TEST_KAFKA,
        max_backoff_s=1.0,
    )
    thread = threading.Thread(target=consumer.run)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while stored_count(database_url, schema) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        link.cut()
        time.sleep(0.5)
        during = stored_count(database_url, schema)
        time.sleep(OUTAGE_S)
        assert stored_count(database_url, schema) == during, "progress without a database?"
        link.restore()
        deadline = time.monotonic() + 90
        while stored_count(database_url, schema) < len(records) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        link.restore()
        consumer.stop()
        thread.join(timeout=60)
        consumer.close()
        consumer.app.close()

    assert during < len(records), "the outage came too late to test anything"
    assert consumer.retries > 0, "the library's own retries hid the outage: make it longer"
    assert consumer.counts[Outcome.DEADLETTERED] == 0
    assert sorted(echoed(database_url, schema)) == sorted(r.ce_id for r in records)
