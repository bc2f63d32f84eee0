"""Helpers for bench/load.py: a lean HTTP/1.1 driver, a Kafka arrival watcher, /proc sampling.

The driver is a few lines of asyncio over keep-alive connections rather than httpx: on a
2-core machine shared with the services, PostgreSQL and Kafka, the load generator's own CPU
is part of what is measured, so it should cost as little as possible (it reports what it used).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as PipeEnd
from pathlib import Path
from typing import Any

# -- HTTP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One command: POST `path` with `body`; `aggregate` when the path already names it."""

    path: str
    body: bytes
    aggregate: str | None = None


@dataclass(frozen=True)
class Sample:
    status: int
    latency_s: float  # request written -> response read (service time, as the client sees it)
    done_at: float  # wall clock (time.time()) when the response was read
    late_s: float  # paced runs: how far behind its schedule the request was sent
    aggregate: str | None
    version: int | None


class HttpConnection:
    """One keep-alive HTTP/1.1 connection that sends JSON (POST) or GETs, and reads the answer."""

    def __init__(self, host: str, port: int, headers: dict[str, str], keyed: bool = False) -> None:
        self.host, self.port = host, port
        self.prefix = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.keyed = keyed  # each POST with an Idempotency-Key of its own
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def post(
        self, path: str, body: bytes, method: str = "POST"
    ) -> tuple[int, dict[str, str], bytes]:
        reader, writer = await self._open()
        key = f"Idempotency-Key: {uuid.uuid4()}\r\n" if self.keyed and method == "POST" else ""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.prefix}{key}"
            + (
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                if method != "GET"
                else "\r\n"
            )
        )
        writer.write(head.encode() + body)
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            payload = await _read_chunked(reader)
        else:
            payload = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, payload


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def version_of(headers: dict[str, str]) -> int | None:
    etag = headers.get("etag", "").removeprefix("W/").strip('"')
    return int(etag) if etag.isdigit() else None


IdOf = Callable[[bytes], str | None]


async def _client(
    conn: HttpConnection,
    jobs: Sequence[tuple[float | None, Job]],
    id_of: IdOf,
    t0: float,
    out: list[Sample],
    stop_after: float,
    method: str = "POST",
) -> None:
    for due, job in jobs:
        if time.perf_counter() - t0 > stop_after:
            return  # bounded: what is left is reported as not sent
        late = 0.0
        if due is not None:
            wait = t0 + due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                late = -wait
        began = time.perf_counter()
        status, headers, payload = await conn.post(job.path, job.body, method)
        ended = time.perf_counter()
        aggregate = job.aggregate or (id_of(payload) if status < 300 else None)
        out.append(Sample(status, ended - began, time.time(), late, aggregate, version_of(headers)))


def drive(
    host: str,
    port: int,
    headers: dict[str, str],
    per_client: Sequence[Sequence[Job]],
    id_of: IdOf,
    rate: float | None = None,
    stop_after: float = 120.0,
    method: str = "POST",
    keyed: bool = False,
) -> tuple[list[Sample], float]:
    """Run each client's jobs on its own connection; returns the samples and elapsed seconds.

    Without `rate`: closed loop (each client sends its next job when the last one answered).
    With `rate`: job i of the whole run (client i % clients) is due at i / rate seconds.
    No client sends after `stop_after` seconds (a service slower than offered is not waited
    for); the samples then number fewer than the jobs.
    """
    clients = len(per_client)
    schedule: list[list[tuple[float | None, Job]]] = []
    for k, jobs in enumerate(per_client):
        if rate is None:
            schedule.append([(None, job) for job in jobs])
        else:
            schedule.append([((k + n * clients) / rate, job) for n, job in enumerate(jobs)])

    async def main() -> tuple[list[Sample], float]:
        conns = [HttpConnection(host, port, headers, keyed) for _ in range(clients)]
        out: list[Sample] = []
        t0 = time.perf_counter()
        try:
            pairs = zip(conns, schedule, strict=True)
            await asyncio.gather(
                *(_client(c, s, id_of, t0, out, stop_after, method) for c, s in pairs)
            )
        finally:
            for conn in conns:
                await conn.close()
        return out, time.perf_counter() - t0

    return asyncio.run(main())


def json_field(name: str) -> IdOf:
    def pick(payload: bytes) -> str | None:
        value = json.loads(payload).get(name)
        return None if value is None else str(value)

    return pick


# -- Kafka -----------------------------------------------------------------------------------


def _watch(bootstrap: str, topic: str, ready: Any, pipe: PipeEnd) -> None:
    """Child process: note the wall-clock arrival of each ce_id on `topic` (read_committed).

    Starts at the partitions' ends. When the parent sends (expected ce_ids, timeout), it keeps
    reading until all of them arrived or the timeout passed, then sends back their arrivals.
    """
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"loadbench-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 100,
            "fetch.min.bytes": 1,
            "socket.nagle.disable": True,
        }
    )
    arrivals: dict[str, float] = {}
    expected: set[str] | None = None
    remaining: set[str] = set()
    deadline = 0.0
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        assigned = []
        for p in partitions:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            assigned.append(TopicPartition(topic, p, high))
        consumer.assign(assigned)
        consumer.consume(num_messages=1, timeout=0.5)  # start fetching before saying ready
        ready.set()
        while True:
            if expected is None and pipe.poll():
                wanted, timeout = pipe.recv()
                expected = set(wanted)
                remaining = expected - arrivals.keys()
                deadline = time.monotonic() + timeout
            messages = consumer.consume(num_messages=2000, timeout=0.02)
            now = time.time()
            for message in messages:
                if message.error():
                    continue
                for header in message.headers() or []:
                    name, value = header[0], header[1]
                    if name == "ce_id" and isinstance(value, bytes):
                        ce_id = value.decode()
                        arrivals.setdefault(ce_id, now)
                        remaining.discard(ce_id)
                        break
            if expected is not None and (not remaining or time.monotonic() > deadline):
                break
    finally:
        consumer.close()
        pipe.send({k: v for k, v in arrivals.items() if expected is None or k in expected})
        pipe.close()


class KafkaWatcher:
    """A read_committed consumer in its own process (not competing with the driver's GIL)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        ctx = mp.get_context("spawn")
        self._ready = ctx.Event()
        self._pipe, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_watch, args=(bootstrap, topic, self._ready, child), daemon=True
        )
        self._proc.start()
        if not self._ready.wait(60):
            self._proc.kill()
            raise RuntimeError(f"the Kafka watcher on {topic} did not start within 60 s")

    def finish(self, expected: set[str], timeout_s: float) -> dict[str, float]:
        """Arrival times of the `expected` ce_ids (those that came within `timeout_s`)."""
        self._pipe.send((sorted(expected), timeout_s))
        arrivals: dict[str, float] = {}
        if self._pipe.poll(timeout_s + 30):
            arrivals = self._pipe.recv()
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
        return arrivals


# -- /proc -----------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += children(current)
    return pids


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores; /proc/stat minus idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICK


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its live descendants."""
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


@dataclass
class RssSampler:
    """Peak RSS of each named process (alone and with its children), sampled every `every_s`."""

    pids: dict[str, int]
    every_s: float = 0.2
    peak: dict[str, float] = field(default_factory=dict)
    peak_tree: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        trees = {name: tree(pid) for name, pid in self.pids.items()}
        ticks = 0
        while not self._stop.wait(self.every_s):
            ticks += 1
            if ticks % 25 == 0:  # children may come and go (the relay's reader)
                trees = {name: tree(pid) for name, pid in self.pids.items()}
            for name, pid in self.pids.items():
                own = rss_mb(pid)
                whole = own + sum(rss_mb(c) for c in trees[name][1:])
                self.peak[name] = max(self.peak.get(name, 0.0), own)
                self.peak_tree[name] = max(self.peak_tree.get(name, 0.0), whole)

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        return {
            name: {
                "peak_rss_mb": round(self.peak.get(name, 0.0), 1),
                "peak_rss_with_children_mb": round(self.peak_tree.get(name, 0.0), 1),
                "vm_hwm_mb": round(rss_mb(pid, "VmHWM"), 1),
            }
            for name, pid in self.pids.items()
        }


class CpuMeter:
    """CPU seconds used by named processes (and this one) between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}
        self.wall = 0.0

    def start(self) -> CpuMeter:
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.before["driver"] = time.process_time()
        self.before["machine"] = machine_busy_seconds()
        self.wall = time.perf_counter()
        return self

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        used = {name: cpu_seconds(pid) - self.before[name] for name, pid in self.pids.items()}
        used["driver"] = time.process_time() - self.before["driver"]
        used["machine"] = machine_busy_seconds() - self.before["machine"]
        used["wall"] = wall
        return used


# -- figures ---------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks; nan when there is nothing."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(value: float) -> float:
    return round(value * 1000, 1)


def latency_figures(latencies: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": ms(pct(latencies, 50)),
        "p95_ms": ms(pct(latencies, 95)),
        "p99_ms": ms(pct(latencies, 99)),
        "max_ms": ms(max(latencies)) if latencies else float("nan"),
        "mean_ms": ms(statistics.fmean(latencies)) if latencies else float("nan"),
    }
