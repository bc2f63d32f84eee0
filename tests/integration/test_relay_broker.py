"""The relay rides out a Kafka broker that is SIGKILLed and restarted while commands keep arriving.

The broker here is a private one (its own CARELEDGER_HOME and ports, the shared jars), started
with the stack's own `start_kafka`, so killing it never disturbs the shared stack.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.errors import NoError

from services.common.kafka_access import KafkaTarget
from services.stack.kafka import start_kafka
from services.stack.state import Component, kafka_libs_dir, pid_alive, stop_pid
from services.stack.topics import admin_client
from tests.integration.support_relay import (
    EVENTS_EACH,
    RelayWorld,
    assert_exactly_once_in_order,
    committed_position,
    make_world,
    read_topic,
    store_probe_events,
    wait_for_line,
    wait_until_published,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NODE_ID = 1  # the private broker's node.id
FLUSH_SECONDS = 3.0  # for the relay to read what was stored and send it (it wakes on commits)


class PrivateBroker:
    """A single-node KRaft broker under its own home; `kill()` and `start()` it at will."""

    def __init__(self, home: Path, libs: Path, **env: str) -> None:
        self.env = {"CARELEDGER_HOME": str(home), "CARELEDGER_KAFKA_LIBS": str(libs), **env}
        self.component: Component | None = None

    def start(self) -> None:
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            self.component = start_kafka()  # reuses its ports and data on a restart
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @property
    def log_dir(self) -> Path:
        """Its first log dir (the stack's own; CARELEDGER_KAFKA_EXTRA_LOG_DIRS adds others)."""
        return Path(self.env["CARELEDGER_HOME"]).resolve() / "kafka" / "data"

    @property
    def bootstrap(self) -> str:
        assert self.component is not None and self.component.url
        return self.component.url

    def signal(self, signum: signal.Signals) -> None:
        assert self.component is not None and self.component.pid
        os.kill(self.component.pid, signum)

    def kill(self) -> None:
        assert self.component is not None and self.component.pid
        os.kill(self.component.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(self.component.pid) and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self) -> None:
        if self.component is not None and self.component.pid:
            stop_pid(self.component.pid)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    private = PrivateBroker(tmp_path / "home", kafka_libs_dir())
    private.start()
    try:
        yield private
    finally:
        private.stop()


@pytest.fixture
def world(database_url: str, broker: PrivateBroker, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, broker.bootstrap, tmp_path)


def test_relay_loses_and_doubles_nothing_when_the_broker_is_killed_and_restarted(
    world: RelayWorld, broker: PrivateBroker, tmp_path: Path
) -> None:
    app = world.app()
    log = tmp_path / "relay.log"
    stored: list[int] = []

    def commands_keep_arriving() -> None:
        for _ in range(30):  # the event store takes commands whether or not Kafka is up
            stored.append(store_probe_events(app, aggregates=10, events_each=EVENTS_EACH))
            time.sleep(0.4)

    relay = world.start_relay(log, "--batch-size", "25")
    writer = threading.Thread(target=commands_keep_arriving)
    try:
        wait_for_line(log, "resumes after")
        writer.start()
        time.sleep(2)
        broker.kill()
        time.sleep(4)
        assert stored[-1] > 0  # commands succeed while the broker is down
        broker.start()
        writer.join()
        wait_until_published(world, app.recorder.max_notification_id(), timeout=180)
        assert relay.poll() is None, log.read_text()[-3000:]  # it waited; it did not die
    finally:
        writer.join()
        relay.terminate()
        relay.wait(timeout=30)
        app.close()
    assert "KafkaConnectionError" in log.read_text()  # the relay did see the broker go away
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    assert_exactly_once_in_order(records, sum(stored))


def test_a_broker_killed_during_the_flush_fails_that_transaction_and_no_checkpoint_passes_it(
    world: RelayWorld, broker: PrivateBroker, tmp_path: Path
) -> None:
    """The broker is frozen (SIGSTOP) so that the relay's next batch waits in its flush, then
    SIGKILLed: that transaction fails with the sends still in flight, the checkpoint stays
    where it was, and after the restart every event is on the topic exactly once, in order."""
    app = world.app()
    log = tmp_path / "relay.log"
    try:
        stored = store_probe_events(app, aggregates=10, events_each=EVENTS_EACH)
        relay = world.start_relay(log, "--batch-size", "50")
        wait_until_published(world, stored)
        broker.signal(signal.SIGSTOP)
        stored += store_probe_events(app, aggregates=10, events_each=EVENTS_EACH)
        time.sleep(FLUSH_SECONDS)  # the relay has read the new events: its flush is waiting
        broker.kill()  # a stopped JVM dies too: its connections reset under the waiting flush
        wait_for_line(log, "kafka transaction failed", timeout=60)
        broker.start()
        wait_until_published(world, app.recorder.max_notification_id(), timeout=180)
        assert relay.poll() is None, log.read_text()[-3000:]
    finally:
        if "relay" in locals():
            relay.terminate()
            relay.wait(timeout=60)
        app.close()
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    assert_exactly_once_in_order(records, stored)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB file system of its own (tmpfs), for a second log dir of a private broker."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_partitions_whose_leader_is_gone_fail_the_transaction_and_no_checkpoint_passes_them(
    database_url: str, small_disk: Path, tmp_path: Path
) -> None:
    """Half the partitions lose their leader (their log dir's disk is full): every transaction
    touching them fails, is aborted and sent again; once the disk is freed and the broker
    restarted, every event is on the topic exactly once, in order."""
    broker = PrivateBroker(
        tmp_path / "jbod",
        kafka_libs_dir(),
        CARELEDGER_KAFKA_EXTRA_LOG_DIRS=str(small_disk / "kafka"),
    )
    broker.start()
    try:
        for world in make_world(database_url, broker.bootstrap, tmp_path):
            leader_gone(world, broker, small_disk, tmp_path)
    finally:
        broker.stop()


def leader_gone(world: RelayWorld, broker: PrivateBroker, disk: Path, tmp_path: Path) -> None:
    app = world.app()
    log = tmp_path / "relay.log"
    try:
        stored = store_probe_events(app, aggregates=20, events_each=EVENTS_EACH)
        relay = world.start_relay(log, "--batch-size", "50", "--transaction-timeout-ms", "10000")
        wait_until_published(world, stored)
        # The fault is meant for event partitions: one whose replica sits on the disk that fills
        # cannot be read or written until the broker restarts, so the checkpoint partition must
        # not be there too, or nothing could show that the checkpoint stopped short.
        held = replica_dirs(world.settings.kafka_bootstrap, world.topic)
        moved = keep_off(
            world.settings.kafka_bootstrap, world.checkpoint_topic, disk, broker.log_dir
        )
        offline = sorted(p for p, d in held.items() if is_on(d, disk))
        assert offline, f"no event partition on {disk}: {held}"
        print(
            f"\nevent partitions on the disk that fills: {offline} of {len(held)}; "
            f"checkpoint partitions moved off it: {moved}"
        )
        fill = disk / "fill"
        subprocess.run(
            ["fallocate", "-l", str(shutil.disk_usage(disk).free), str(fill)], check=True
        )
        stored += store_probe_events(app, aggregates=20, events_each=EVENTS_EACH)
        wait_for_line(log, "kafka transaction failed", timeout=90)
        stuck = committed_position(world, settle=False)
        assert stuck < app.recorder.max_notification_id()  # nothing passed the offline ones
        fill.unlink()
        broker.kill()  # a failed log dir comes back only with the broker
        broker.start()
        wait_until_published(world, app.recorder.max_notification_id(), timeout=180)
        assert relay.poll() is None, log.read_text()[-3000:]
    finally:
        if "relay" in locals() and relay.poll() is None:
            relay.terminate()
            try:
                relay.wait(timeout=60)
            except subprocess.TimeoutExpired:
                relay.kill()
                relay.wait(timeout=10)
        app.close()
    records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
    assert_exactly_once_in_order(records, stored)


def replica_dirs(kafka: KafkaTarget, topic: str) -> dict[int, str]:
    """Partition -> the log dir that holds its (only) replica, as the broker says."""
    admin = admin_client(kafka)
    try:
        partitions = len(admin.describe_topics([topic])[0]["partitions"])
        described = admin.describe_log_dirs({topic: list(range(partitions))})
    finally:
        admin.close()
    return {
        part["partition_index"]: log_dir["log_dir"]
        for broker in described
        for log_dir in broker["log_dirs"]
        for t in log_dir["topics"]
        if t["name"] == topic
        for part in t["partitions"]
        if not part["is_future_key"]
    }


def is_on(log_dir: str, disk: Path) -> bool:
    return Path(log_dir).is_relative_to(disk)


def keep_off(
    kafka: KafkaTarget, topic: str, disk: Path, target: Path, timeout: float = 60
) -> list[int]:
    """Move `topic`'s replicas that sit on `disk` to `target`; wait until they are there."""
    moving = [p for p, d in replica_dirs(kafka, topic).items() if is_on(d, disk)]
    if not moving:
        return moving
    admin = admin_client(kafka)
    try:
        errors = admin.alter_replica_log_dirs({(topic, p, NODE_ID): str(target) for p in moving})
    finally:
        admin.close()
    assert all(e is NoError for e in errors.values()), errors
    deadline = time.monotonic() + timeout
    while any(is_on(d, disk) for d in replica_dirs(kafka, topic).values()):
        assert time.monotonic() < deadline, f"{topic} still on {disk} after {timeout}s"
        time.sleep(0.5)
    return moving
