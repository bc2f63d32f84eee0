"""The relay publishes every committed event exactly once, in order, though SIGKILLed at random."""

from __future__ import annotations

import contextlib
import json
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from services.stack.state import pid_alive
from tests.integration.support_relay import (
    EVENTS_EACH,
    RelayWorld,
    assert_exactly_once_in_order,
    make_world,
    read_topic,
    store_probe_events,
    wait_for_line,
    wait_until_published,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 5_000
OPEN_WAIT_S = 8.0  # the relay is waiting on the open transaction by then
STOPS_WITHIN_S = 15.0
CHILD_DIES_S = 10.0  # a SIGKILLed relay's read-ahead child is gone within this


@pytest.fixture
def world(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, kafka_bootstrap, tmp_path)


def keep_storing(app: object, total: int, each_time: int) -> None:
    for _ in range(total // each_time):
        store_probe_events(app, aggregates=each_time // EVENTS_EACH, events_each=EVENTS_EACH)
        time.sleep(0.3)


def _positions(log: Path) -> list[int]:
    """Where each relay started: the relay logs JSON lines."""
    if not log.exists():
        return []
    return [
        int(json.loads(line)["event"].rsplit(" ", 1)[1])
        for line in log.read_text().splitlines()
        if "resumes after position" in line
    ]


def children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid` (from /proc/<pid>/stat)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
    return kids


def wait_gone(pids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while left := [p for p in pids if pid_alive(p)]:
        assert time.monotonic() < deadline, f"children {left} outlived their relay by {seconds}s"
        time.sleep(0.1)


def _mid_stream(log: Path) -> list[int]:
    return [p for p in _positions(log) if 0 < p < TOTAL]


def _resumes(log: Path) -> int:
    """How many times a relay has logged its start position in `log`."""
    return log.read_text().count("resumes after position") if log.exists() else 0


def test_relay_killed_at_random_moments_publishes_every_event_exactly_once_in_order(
    world: RelayWorld, tmp_path: Path
) -> None:
    app = world.app()
    log = tmp_path / "relay.log"
    rng = random.Random()
    kills = 0
    try:
        store_probe_events(app, aggregates=TOTAL // EVENTS_EACH * 4 // 5, events_each=EVENTS_EACH)
        # The rest arrives while the relay is being killed and restarted.
        writer = threading.Thread(target=keep_storing, args=(app, TOTAL // 5, 100))
        writer.start()
        # Kill at least 6 times, and go on (up to 20) until 4 restarts resumed mid-stream: on a
        # loaded machine a relay may be killed before its first commit, which proves less.
        while kills < 20 and (kills < 6 or writer.is_alive() or len(_mid_stream(log)) < 4):
            started = _resumes(log)
            relay = world.start_relay(log, "--batch-size", "7")
            deadline = time.monotonic() + 60  # start-up is slow on a loaded machine: wait for it
            while _resumes(log) == started and relay.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.5, 3.0))
            readers = children_of(relay.pid)  # the read-ahead child
            relay.send_signal(signal.SIGKILL)
            relay.wait()
            kills += 1
            wait_gone(readers, CHILD_DIES_S)
        writer.join()
        last_log = tmp_path / "last-relay.log"
        relay = world.start_relay(last_log)
        try:
            wait_until_published(world, app.recorder.max_notification_id())
            wait_for_line(last_log, "resumes after")  # it runs: SIGTERM now stops it cleanly
        finally:
            relay.terminate()
            assert relay.wait(timeout=30) == 0, last_log.read_text()[-3000:]
    finally:
        app.close()
    assert kills >= 5
    resumed = _positions(log)
    assert resumed == sorted(resumed), resumed
    assert len(_mid_stream(log)) >= 4, f"kills missed the stream: {resumed}"
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    assert_exactly_once_in_order(records, TOTAL)


def test_a_second_relay_fences_the_first_and_nothing_is_published_twice(
    world: RelayWorld, tmp_path: Path
) -> None:
    app = world.app()
    try:
        store_probe_events(app, aggregates=100, events_each=EVENTS_EACH)
        first = world.start_relay(tmp_path / "first.log", "--batch-size", "20")
        wait_until_published(world, 1)
        second = world.start_relay(tmp_path / "second.log", "--batch-size", "20")
        try:
            time.sleep(3)  # the second starts up and fences the first
            for _ in range(40):  # the first learns it was fenced at its next transaction
                store_probe_events(app, aggregates=10, events_each=EVENTS_EACH)
                if first.poll() is not None:
                    break
                time.sleep(0.5)
            assert first.wait(timeout=60) == 3, (tmp_path / "first.log").read_text()[-3000:]
            assert "fenced" in (tmp_path / "first.log").read_text()
            wait_until_published(world, app.recorder.max_notification_id())
            total = app.recorder.max_notification_id()
        finally:
            wait_for_line(tmp_path / "second.log", "resumes after")
            second.terminate()
            assert second.wait(timeout=30) == 0
            if first.poll() is None:
                first.kill()
    finally:
        app.close()
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    assert_exactly_once_in_order(records, total)


def test_relay_cli_reports_status_with_lag(world: RelayWorld) -> None:
    app = world.app()
    try:
        stored = store_probe_events(app, aggregates=3, events_each=2)
    finally:
        app.close()
    result = subprocess.run(
        world.relay_argv("--status"),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={
            "CARELEDGER_ENV": "dev",
            "CARELEDGER_DATABASE_URL": world.settings.database_url,
            "CARELEDGER_KAFKA_BOOTSTRAP": world.settings.kafka_bootstrap,
            "PATH": "",
        },
    )
    assert result.returncode == 0, result.stderr
    assert f'"lag": {stored}' in result.stdout


def test_a_relay_waiting_on_an_open_checkpoint_transaction_stops_at_once_on_sigterm(
    world: RelayWorld, tmp_path: Path
) -> None:
    """Another producer holds a transaction open on the checkpoint partition, so a starting relay
    waits for it to end before it trusts the checkpoint it read (up to 120 s); SIGTERM ends
    that wait instead of being honoured only after it."""
    blocker = KafkaProducer(
        bootstrap_servers=world.settings.kafka_bootstrap,
        transactional_id=f"blocker-{world.store}",
        transaction_timeout_ms=300_000,
    )
    log = tmp_path / "relay.log"
    try:
        blocker.init_transactions()
        blocker.begin_transaction()
        blocker.send(world.checkpoint_topic, key=b"someone-else", value=b"{}").get(timeout=30)
        relay = world.start_relay(log)
        time.sleep(OPEN_WAIT_S)
        assert relay.poll() is None and "resumes after" not in log.read_text(), log.read_text()
        asked = time.monotonic()
        relay.terminate()
        try:
            code = relay.wait(timeout=STOPS_WITHIN_S)
        except subprocess.TimeoutExpired:
            relay.kill()
            relay.wait(timeout=10)
            pytest.fail(f"the relay did not stop within {STOPS_WITHIN_S}s of SIGTERM")
        print(f"\nstopped {time.monotonic() - asked:.1f}s after SIGTERM")
        assert code == 0, log.read_text()[-3000:]
    finally:
        blocker.abort_transaction()
        blocker.close(timeout=10)
