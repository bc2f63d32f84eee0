"""Brokers SIGKILLed under load on a three-broker cluster (replication 3, min ISR 2).

One broker down: nothing stops; Kafka moves the partitions' leadership and the relays and
consumers carry on by themselves. Two down: Kafka takes no writes (min ISR, and no controller
majority), the APIs still take commands into PostgreSQL, and once the brokers are back every
event arrives exactly once, in order per aggregate.
"""

from __future__ import annotations

import time

import pytest

from tests.cluster.support_cluster import (
    Cluster,
    OrderedReader,
    load,
    read_all,
    settled,
    steady,
    stored,
)
from tests.faults.support_load import Answer, PlanLoad
from tests.faults.support_stack import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]


def test_the_broker_leading_most_partitions_dies_and_relays_and_consumers_carry_on(
    cluster: Cluster, topics: dict[str, OrderedReader]
) -> None:
    running = load(cluster)
    steady(cluster, running)
    pids = cluster.service_pids()
    victim, led = cluster.leaders().most_common(1)[0]
    cluster.kill(f"kafka-{victim}")
    down_at = time.monotonic()
    on_kafka, suggestions = read_all(topics), cluster.suggestions()
    # Carry on: events published and reacted to while the broker is down, by the same processes.
    waited = wait_for(
        lambda: read_all(topics) > on_kafka + 30 and cluster.suggestions() > suggestions,
        120,
        "events to reach Kafka and the consumer to react with a broker down",
    )
    during = running.between(down_at, time.monotonic())
    assert cluster.dead_services() == [], "a service process died with the broker"
    restart, caught, published = brokers_back(cluster, topics, running)

    print(
        f"\nkafka-{victim} (leader of {led}/18) down: progress after {waited:.1f}s, "
        f"{len(during)} commands {dict(running.statuses(down_at))}; back {restart:.1f}s, "
        f"in sync {caught:.1f}s later; exactly once {published}"
    )
    assert cluster.service_pids() == pids, "stack up restarted a service: none should have died"
    assert len(during) >= 10 and all_2xx(during), sorted({a.status for a in during})


def test_with_two_brokers_down_kafka_takes_no_writes_yet_commands_are_kept_and_arrive_once(
    cluster: Cluster, topics: dict[str, OrderedReader]
) -> None:
    running = load(cluster)
    steady(cluster, running)
    first, second = [node for node, _ in cluster.leaders().most_common(2)]
    cluster.kill(f"kafka-{first}")
    wait_for(
        lambda: read_all(topics) > 0 and _fenced(cluster, first), 60, "the cluster to fence it"
    )
    cluster.kill(f"kafka-{second}")
    down_at = time.monotonic()
    # What was in flight settles; then a quiet window: the stores grow, the topics do not.
    quiet = _quiet_window(cluster, topics, seconds=8.0)
    during = running.between(down_at, time.monotonic())
    restart, caught, published = brokers_back(cluster, topics, running)

    print(
        f"\nkafka-{first} then kafka-{second} down: {quiet}; {len(during)} commands "
        f"{sorted({a.status for a in during})}; back {restart:.1f}s, in sync {caught:.1f}s "
        f"later; exactly once {published}"
    )
    assert quiet["stored"] >= 10 and quiet["on_kafka"] == 0, quiet
    assert len(during) >= 10 and all_2xx(during), sorted({a.status for a in during})
    assert cluster.dead_services() == []


def brokers_back(
    cluster: Cluster, topics: dict[str, OrderedReader], running: PlanLoad
) -> tuple[float, float, dict[str, int]]:
    """`stack up` restarts the dead brokers; every replica back in sync; load stopped; checked."""
    restart = cluster.up(timeout=480)
    caught = wait_for(cluster.fully_replicated, 180, "the brokers to catch up their replicas")
    running.stop()
    running.join(120)
    return restart, caught, settled(cluster, topics)


def all_2xx(answers: list[Answer]) -> bool:
    return all(200 <= a.status < 300 for a in answers)


def _fenced(cluster: Cluster, node: int) -> bool:
    try:
        return all(node not in p.isrs for p in cluster.partitions())
    except Exception:  # metadata from a broker that is going away
        return False


def _quiet_window(
    cluster: Cluster, topics: dict[str, OrderedReader], seconds: float
) -> dict[str, float]:
    """Wait until no record arrives for 3 s, then count what the stores and topics gain."""
    seen = read_all(topics)
    last_change = time.monotonic()
    deadline = last_change + 90
    while time.monotonic() - last_change < 3.0:
        assert time.monotonic() < deadline, "records kept arriving with two brokers down"
        now = read_all(topics, 0.5)
        if now != seen:
            seen, last_change = now, time.monotonic()
    before_store, before_kafka, started = stored(cluster), seen, time.monotonic()
    while time.monotonic() - started < seconds:
        read_all(topics, 0.5)
    return {
        "seconds": seconds,
        "stored": stored(cluster) - before_store,
        "on_kafka": read_all(topics, 0.5) - before_kafka,
    }
