"""A private three-broker Kafka cluster with a PostgreSQL standby, and what the tests ask of it.

Built on the fault suite's PrivateStack (`careledger stack up|down` under its own home); the
Kafka side is read with confluent-kafka (librdkafka), never with the kafka-python the services
use, so a fault in one client cannot hide itself.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg
from confluent_kafka.admin import AdminClient

from services.stack.stack import executable
from services.stack.state import free_port
from tests.faults.support_checks import caught_up
from tests.faults.support_load import PlanLoad
from tests.faults.support_stack import (
    SERVICES,
    PrivateStack,
    StackError,
    TopicReader,
    count,
    query,
    wait_for,
)

UNBOUNDED = 1_000_000  # the tests stop their load when the phase they measure is over
STORED = "SELECT " + " + ".join(f"(SELECT count(*) FROM {s}.{s}_events)" for s in SERVICES)  # noqa: S608
CLUSTER_FLAGS = ("--brokers", "3", "--pg-standby")
EVENT_TOPICS = tuple(f"careledger.{service}" for service in SERVICES)
SUGGESTIONS = (
    "SELECT count(*) FROM referral.referral_events WHERE topic LIKE '%.ReferralDrafted' "
    "AND convert_from(state, 'UTF8')::jsonb->>'origin' = 'plan-suggestion'"
)


@dataclass
class Cluster(PrivateStack):
    """The private stack with --brokers 3 --pg-standby, plus processes a test starts itself."""

    extra: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # -- Kafka --------------------------------------------------------------------------------

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.info.kafka_bootstrap, "logger": _quiet()})

    def partitions(self, topics: tuple[str, ...] | None = None) -> list[Any]:
        """Partition metadata (leader, replicas, isrs) of `topics`, else of every topic."""
        metadata = self.admin().list_topics(timeout=20)
        names = topics or tuple(t for t in metadata.topics if not t.startswith("__"))
        return [p for name in names for p in metadata.topics[name].partitions.values()]

    def leaders(self) -> Counter[int]:
        """Broker node id -> how many partitions of the event topics it leads."""
        return Counter(p.leader for p in self.partitions(EVENT_TOPICS))

    def fully_replicated(self) -> bool:
        """Every partition of every topic, internal ones included, has all 3 replicas in sync."""
        try:
            metadata = self.admin().list_topics(timeout=10)
        except Exception:  # the cluster is between states: not yet
            return False
        partitions = [p for t in metadata.topics.values() for p in t.partitions.values()]
        return bool(partitions) and all(
            p.leader >= 0 and len(p.isrs) == len(p.replicas) == 3 for p in partitions
        )

    def group_members(self, group: str) -> dict[str, set[tuple[str, int]]]:
        """Member id -> the partitions it is assigned, for a consumer group."""
        admin = self.admin()  # kept while waiting: a collected client never completes futures
        [future] = admin.describe_consumer_groups([group], request_timeout=15).values()
        description = future.result(timeout=20)
        return {
            m.member_id: {(tp.topic, tp.partition) for tp in m.assignment.topic_partitions}
            for m in description.members
        }

    # -- PostgreSQL ---------------------------------------------------------------------------

    def postgres_role(self, component: str) -> str | None:
        """`primary` or `standby` as the node answers; None when it does not."""
        url = self.info.components[component].url
        assert url
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.Error:
            return None
        return "standby" if row and row[0] else "primary"

    def postgres_primary(self) -> str:
        for name in ("postgres", "postgres-2"):
            if self.postgres_role(name) == "primary":
                return name
        raise StackError("no PostgreSQL node answers as primary")

    def failover(self) -> str:
        result = self.careledger("stack", "failover", timeout=300)
        if result.returncode != 0:
            raise StackError(f"stack failover failed:\n{result.stdout[-3000:]}{result.stderr}")
        return result.stdout

    def suggestions(self) -> int:
        return count(self.info.database_url, SUGGESTIONS)

    # -- processes started by a test ----------------------------------------------------------

    def spawn(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        """Start `careledger <argv>` as another replica, with the env the stack's processes get."""
        log = (self.home / "logs" / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [executable(), *argv],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.extra[name] = process
        return process

    def spawn_api(self, service: str) -> str:
        """A second API replica of `service`; returns its base URL once it answers."""
        port = free_port()
        process = self.spawn(f"{service}-api-2", "serve", service, "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _health(url) or process.poll() is not None, 60, f"{url} to answer")
        assert process.poll() is None, f"{service}-api-2 exited with {process.returncode}"
        return url

    def stop_extra(self) -> None:
        for process in self.extra.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in self.extra.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.extra.clear()

    def down(self) -> None:
        self.stop_extra()
        super().down()


def _health(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _quiet() -> Any:
    import logging

    logger = logging.getLogger("cluster.kafka")
    logger.setLevel(logging.CRITICAL)
    return logger


class OrderedReader(TopicReader):
    """A topic read from offset 0, read_committed: each ce_id's count and each key's sequence."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, topic)
        self.by_key: dict[bytes, list[tuple[int, int]]] = defaultdict(list)

    def record(self, message: Any) -> None:
        super().record(message)
        headers = dict(message.headers() or [])
        sequence = int(headers["ce_sequence"].decode())
        self.by_key[message.key()].append((message.partition(), sequence))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def out_of_order(self) -> list[str]:
        """Keys whose records are not one partition's strictly rising versions."""
        wrong = []
        for key, seen in self.by_key.items():
            partitions = {partition for partition, _ in seen}
            versions = [version for _, version in seen]
            if len(partitions) != 1 or versions != sorted(set(versions)):
                wrong.append(f"{key.decode()}: partitions {sorted(partitions)}, {versions}")
        return wrong


def read_all(topics: dict[str, OrderedReader], seconds: float = 1.0) -> int:
    """Poll every reader for `seconds`; the records seen so far on all topics."""
    for reader in topics.values():
        reader.poll_for(seconds / len(topics))
    return sum(reader.total for reader in topics.values())


def settled(cluster: Cluster, topics: dict[str, OrderedReader]) -> dict[str, int]:
    """Store and topics agree exactly once, in order per key; read models and reactions done."""
    published = caught_up(cluster, topics)
    for service, reader in topics.items():
        wrong = reader.out_of_order()
        assert not wrong, f"{service}: {len(wrong)} keys out of order: {wrong[:5]}"
    return published


def load(cluster: Cluster) -> PlanLoad:
    """Commands on all three services from four clients, until stopped."""
    return PlanLoad(cluster.url, commands=UNBOUNDED, threads=4, pace=0.2, consent=True).start()


def stored(cluster: Cluster) -> int:
    """Events in the three stores."""
    return count(cluster.info.database_url, STORED)


def in_store(cluster: Cluster, service: str) -> list[tuple[str, int]]:
    rows = query(
        cluster.info.database_url,
        f"SELECT originator_id::text, originator_version FROM {service}.{service}_events",  # noqa: S608
    )
    return [(str(oid), int(version)) for oid, version in rows]


def steady(cluster: Cluster, running: PlanLoad) -> None:
    """The load runs and the referral consumer reacts to it."""
    before = cluster.suggestions()
    wait_for(lambda: cluster.suggestions() > before, 120, "the referral consumer to react")
    assert not running.statuses()[500]
