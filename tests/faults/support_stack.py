"""A private careledger stack for fault tests: start, kill by pid, restart, read store and topics.

Everything here is bounded: subprocesses have timeouts, waits have deadlines, and `down` stops
every pid the stack recorded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition

from contracts.envelope import event_id
from services.stack.postgres import PG_USER, data_dir
from services.stack.prereqs import postgres_bindir
from services.stack.stack import executable
from services.stack.state import StackInfo, pid_alive, read_stack_info

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("plan", "consent", "referral")


class StackError(AssertionError):
    pass


@dataclass
class PrivateStack:
    """`careledger stack up|down` under its own CARELEDGER_HOME (the shared jars are reused)."""

    home: Path
    env: dict[str, str] = field(init=False)
    mounts: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)  # closed after down
    _urls: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {
            **os.environ,
            "CARELEDGER_HOME": str(self.home),
            "CARELEDGER_KAFKA_LIBS": os.environ.get(
                "CARELEDGER_KAFKA_LIBS", str(REPO / ".local" / "kafka-libs")
            ),
            "CARELEDGER_ENV": "dev",
        }
        self.env.pop("CARELEDGER_DATABASE_URL", None)
        self.env.pop("CARELEDGER_KAFKA_BOOTSTRAP", None)

    def careledger(self, *args: str, timeout: float = 420) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [executable(), *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def up(self, *flags: str, timeout: float = 480) -> float:
        """`stack up` (starts whatever is not running); returns the seconds it took."""
        started = time.monotonic()
        result = self.careledger("stack", "up", *flags, timeout=timeout)
        if result.returncode != 0:
            raise StackError(f"stack up failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return time.monotonic() - started

    def down(self) -> None:
        """`stack down`, then SIGKILL any recorded pid that survived it."""
        pids: list[int] = []
        with contextlib.suppress(Exception):
            pids = list(self.info.pids.values())
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.careledger("stack", "down", timeout=120)
        for pid in pids:
            if pid_alive(pid):
                _kill_group(pid, signal.SIGKILL)

    @property
    def info(self) -> StackInfo:
        return read_stack_info(self.home / "stack.json")

    def url(self, service: str) -> str:
        """The API's base URL; while `stack up` rewrites stack.json, the last one known."""
        with contextlib.suppress(Exception):
            self._urls.update({k: v for k, v in self.info.service_urls.items() if v})
        return self._urls[service]

    def pid(self, component: str) -> int:
        pid = self.info.components[component].pid
        assert pid, f"{component} has no pid in stack.json"
        return pid

    def service_pids(self) -> dict[str, int]:
        """The pids of the stack's own processes (APIs, relays, consumers, projections)."""
        return {
            n: c.pid
            for n, c in self.info.components.items()
            if c.pid and not n.startswith(("kafka", "postgres"))
        }

    def dead_services(self) -> list[str]:
        return sorted(name for name, pid in self.service_pids().items() if not pid_alive(pid))

    def kill(self, component: str) -> None:
        """SIGKILL one component (its process group) and wait until it is gone."""
        pid = self.pid(component)
        _kill_group(pid, signal.SIGKILL)
        wait_for(lambda: not pid_alive(pid), 15, f"{component} ({pid}) to die")

    def stop_postgres_immediately(self) -> None:
        """`pg_ctl stop -m immediate` as the cluster's owner: a crash, from PostgreSQL's view."""
        bindir = postgres_bindir()
        assert bindir is not None, "no PostgreSQL binaries"
        with _home(self.home):
            cmd = [str(bindir / "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", str(data_dir())]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", PG_USER, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr

    def logs(self) -> list[Path]:
        return sorted((self.home / "logs").glob("*.log"))


@contextlib.contextmanager
def _home(home: Path) -> Any:
    before = os.environ.get("CARELEDGER_HOME")
    os.environ["CARELEDGER_HOME"] = str(home)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CARELEDGER_HOME", None)
        else:
            os.environ["CARELEDGER_HOME"] = before


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll `condition` until true; returns the seconds waited; fails after `seconds`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise StackError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.25)
    return time.monotonic() - started


class TopicReader:
    """Reads one topic from the beginning, read_committed, and counts records by ce_id."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.counts: Counter[str] = Counter()
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"faults-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "logger": _quiet_logger(),
            }
        )
        partitions = self.consumer.list_topics(topic, timeout=15).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, 0) for p in partitions])

    def poll_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            for message in self.consumer.consume(500, timeout=min(left, 0.5)):
                if message.error():
                    continue  # the broker is down or restarting: keep polling
                self.record(message)

    def record(self, message: Any) -> None:
        headers = dict(message.headers() or [])
        self.counts[headers["ce_id"].decode()] += 1

    def close(self) -> None:
        self.consumer.close()


def _quiet_logger() -> Any:
    import logging

    logger = logging.getLogger("faults.kafka")
    logger.setLevel(logging.CRITICAL)
    return logger


def query(database_url: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        return list(conn.execute(statement).fetchall())  # type: ignore[arg-type]


def stored_event_ids(database_url: str, service: str) -> dict[str, tuple[str, int]]:
    """The service's own events (its access records go to careledger.access, not its topic)."""
    rows = query(
        database_url,
        f"SELECT originator_id, originator_version FROM {service}.{service}_events "  # noqa: S608
        "WHERE topic NOT LIKE 'careledger.access.%'",
    )
    return {event_id(str(oid), int(version)): (str(oid), int(version)) for oid, version in rows}


def count(database_url: str, statement: str) -> int:
    return int(query(database_url, statement)[0][0])


def version_gaps(database_url: str, service: str) -> list[str]:
    """Aggregates whose stored versions are not exactly 1..n (a half-written command)."""
    rows = query(
        database_url,
        f"SELECT originator_id, count(*), min(originator_version), max(originator_version) "  # noqa: S608
        f"FROM {service}.{service}_events GROUP BY originator_id",
    )
    return [
        f"{oid}: {n} events, versions {lo}..{hi}" for oid, n, lo, hi in rows if lo != 1 or hi != n
    ]


def missing(
    acknowledged: Iterable[tuple[str, int]], stored: Iterable[tuple[str, int]]
) -> list[Any]:
    return sorted(set(acknowledged) - set(stored))
