"""The relay's reader wakes at a commit (LISTEN/NOTIFY) rather than at its next poll.

The event store notifies its `channel_name` in every insert transaction; the reader listens there.

Each test reads a private schema with the probe aggregate of test_relay_support. The poll
intervals are long (2 to 5 s) so that a record handed over well before the interval can only
have come from a notification, not from polling.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict
from services.common.relay.config import RelayConfig
from services.common.relay.reader import ReadAhead
from services.common.relay.source import CommitWakeup
from services.common.settings import Settings, load_settings
from tests.integration.support_relay import (
    CareApplication,
    RelayProbe,
    build_application,
    write_probe_schemas,
)

pytestmark = pytest.mark.integration

CTX = CommandContext(actor_id="u-wakeup-test", actor_role="clinician", tenant="t-wakeup")


@dataclass
class Store:
    settings: Settings
    name: str
    app: Any
    schema_root: Path

    @property
    def channel(self) -> str:
        return str(self.app.recorder.channel_name)

    def reader(self, poll_interval_s: float) -> ReadAhead:
        config = RelayConfig(
            service=self.name,
            poll_interval_s=poll_interval_s,
            schema_root=self.schema_root,
            domain_modules=("tests.integration.support_relay",),
        )
        return ReadAhead(config, self.settings, 0, partitions=6)


@pytest.fixture
def store(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Store]:
    name = f"relayprobe_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    settings = load_settings(database_url=database_url, kafka_bootstrap=kafka_bootstrap, env="dev")
    write_probe_schemas(tmp_path / "schemas")
    app = build_application(
        type("ProbeApp", (CareApplication,), {"name": name}), settings, create_table=True
    )
    try:
        yield Store(settings, name, app, tmp_path / "schemas")
    finally:
        app.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def listener(database_url: str, channel: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(database_url, autocommit=True)
    conn.execute(f"LISTEN {channel}")
    return conn


def received(conn: psycopg.Connection[Any], wait_s: float) -> list[str]:
    return [n.channel for n in conn.notifies(timeout=wait_s)]


def handed_over_in(reader: ReadAhead, timeout: float) -> float:
    """Seconds until the reader hands over the next batch (which must hold one record)."""
    started = time.monotonic()
    batch = reader.next(timeout=timeout)
    assert batch is not None, f"nothing handed over within {timeout} s"
    assert len(batch[0]) == 1
    return time.monotonic() - started


def test_a_save_notifies_once_and_only_when_it_commits(store: Store) -> None:
    channel = store.channel
    first = RelayProbe(tenant=CTX.tenant)
    store.app.save_as(CTX, first)
    conn = listener(store.settings.database_url, channel)
    try:
        again = store.app.repository.get(first.id)
        again.record(1)
        stale = store.app.repository.get(first.id)
        stale.record(2)
        store.app.save_as(CTX, again)
        assert received(conn, 0.5) == [channel]
        with pytest.raises(Conflict):  # its insert fails and rolls back: no notification
            store.app.save_as(CTX, stale)
        assert received(conn, 0.3) == []

        probes = [RelayProbe(tenant=CTX.tenant) for _ in range(5)]
        for probe in probes:
            probe.record(1)
        store.app.save_as(CTX, *probes)  # ten events in one transaction
        assert received(conn, 0.5) == [channel]  # folded into one notification
    finally:
        conn.close()


def test_the_reader_hands_a_commit_over_long_before_its_poll_interval(store: Store) -> None:
    probe = RelayProbe(tenant=CTX.tenant)
    store.app.save_as(CTX, probe)
    reader = store.reader(poll_interval_s=5)
    try:
        handed_over_in(reader, timeout=30)  # the child has started and caught up
        for n in range(1, 4):
            time.sleep(0.5)  # the child has read nothing new and sleeps
            probe.record(n)
            store.app.save_as(CTX, probe)
            assert handed_over_in(reader, timeout=10) < 2  # polling would take ~4.5 s
        started = time.monotonic()
    finally:
        reader.close()
    assert time.monotonic() - started < 2  # a halt still stops a long wait quickly


def test_without_a_notification_a_wait_ends_at_the_poll_interval(store: Store) -> None:
    wakeup, halt = CommitWakeup(f"{store.name}_silent", store.settings), threading.Event()
    try:
        assert wakeup.listen()
        started = time.monotonic()
        wakeup.wait(0.5, halt)  # nobody notifies this channel: the reader polls again
        assert 0.4 < time.monotonic() - started < 2
    finally:
        wakeup.close()


def _terminate_listeners(database_url: str, channel: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = %s",
            (f'LISTEN "{channel}"',),
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_broken_listen_connection_falls_back_to_polling_and_listens_again(store: Store) -> None:
    probe = RelayProbe(tenant=CTX.tenant)
    store.app.save_as(CTX, probe)
    reader = store.reader(poll_interval_s=2)
    try:
        handed_over_in(reader, timeout=30)
        time.sleep(0.3)
        assert _terminate_listeners(store.settings.database_url, store.channel) == 1
        time.sleep(0.3)
        probe.record(1)
        store.app.save_as(CTX, probe)
        handed_over_in(reader, timeout=5)  # by polling
        time.sleep(0.5)
        probe.record(2)
        store.app.save_as(CTX, probe)
        assert handed_over_in(reader, timeout=5) < 1  # listening again
    finally:
        reader.close()


def test_commit_wakeup_survives_its_connection_and_returns_at_halt(store: Store) -> None:
    wakeup, halt = CommitWakeup(store.channel, store.settings), threading.Event()
    try:
        assert wakeup.listen()
        assert _terminate_listeners(store.settings.database_url, wakeup.channel) == 1
        wakeup.wait(0.5, halt)  # no exception: polling takes over
        assert not wakeup.listening
        wakeup.wait(0.2, halt)  # within RECONNECT_S of the last attempt: waits, no connect
        assert not wakeup.listening
        time.sleep(1)
        wakeup.wait(5, halt)  # listens again and returns at once
        assert wakeup.listening
        threading.Timer(0.2, halt.set).start()
        started = time.monotonic()
        wakeup.wait(5, halt)
        assert time.monotonic() - started < 1
    finally:
        wakeup.close()
