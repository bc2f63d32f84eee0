"""Two replicas of each API and two consumers per group; one of each SIGKILLed under load.

The clients spread over both API replicas (a connection that is refused is sent to the other,
as a load balancer does); each consumer group shares its topic's partitions between its two
members, and the survivor takes them all over. A further relay for a service that already has
one fences the running one, and is fenced in turn when `stack up` starts the service's own
again: never two publishing at once. Nothing lost, nothing doubled.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from services.stack.state import pid_alive
from tests.cluster.support_cluster import UNBOUNDED, Cluster, OrderedReader, in_store, settled
from tests.faults.support_load import PlanLoad
from tests.faults.support_stack import SERVICES, StackError, missing, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

EXIT_FENCED = 3  # services/common/relay/cli.py


def spread(urls: dict[str, list[str]]) -> Callable[[str], str]:
    """service -> the next of its replicas' URLs, in turn."""
    turns: dict[str, Iterator[str]] = {s: itertools.cycle(u) for s, u in urls.items()}
    lock = threading.Lock()

    def url(service: str) -> str:
        with lock:
            return next(turns[service])

    return url


SEEN: dict[str, object] = {}  # the last assignment each group showed, for a failure message


def shared(cluster: Cluster, group: str, members: int) -> bool:
    """`members` members of the group hold partitions (one that is leaving holds none)."""
    try:
        assigned = cluster.group_members(group)
    except Exception as exc:  # the group is rebalancing
        SEEN[group] = repr(exc)
        return False
    SEEN[group] = {member[-8:]: sorted(p) for member, p in assigned.items()}
    return len([p for p in assigned.values() if p]) == members


def wait_shared(cluster: Cluster, group: str, members: int) -> None:
    try:
        wait_for(lambda: shared(cluster, group, members), 180, f"{group} on {members} member(s)")
    except StackError as exc:
        raise StackError(f"{exc}; it last showed {SEEN.get(group)}") from None


def test_one_api_replica_and_one_consumer_of_each_group_die_and_nothing_is_lost_or_doubled(
    cluster: Cluster, topics: dict[str, OrderedReader]
) -> None:
    consumers = [n.split("-")[0] for n in cluster.service_pids() if n.endswith("-consumer")]
    groups = {service: f"careledger-{service}-reactions" for service in consumers}
    urls = {service: [cluster.url(service), cluster.spawn_api(service)] for service in SERVICES}
    for service in consumers:
        cluster.spawn(f"{service}-consumer-2", "consume", service)
    for group in groups.values():
        wait_shared(cluster, group, 2)
    halves = {g: sorted(len(p) for p in cluster.group_members(g).values()) for g in groups.values()}

    running = PlanLoad(
        spread(urls), commands=UNBOUNDED, threads=4, pace=0.2, consent=True, connect_retries=6
    ).start()
    before = cluster.suggestions()
    wait_for(lambda: cluster.suggestions() > before, 120, "the consumers to react")
    kills_from = time.monotonic()
    for name in [f"{s}-api" for s in SERVICES] + [f"{s}-consumer" for s in consumers]:
        cluster.kill(name)
    killed_at = time.monotonic()
    for group in groups.values():
        wait_shared(cluster, group, 1)
    taken_over = time.monotonic() - killed_at
    reacted = cluster.suggestions()
    wait_for(lambda: cluster.suggestions() > reacted, 120, "the survivors to react")

    relay = cluster.info.components["plan-relay"].pid
    further = cluster.spawn("plan-relay-2", "relay", "plan")
    wait_for(lambda: not pid_alive(relay), 120, f"the running relay ({relay}) to be fenced")
    assert further.poll() is None, "the further relay should be the one publishing now"
    # The killed APIs and consumers come back, and plan's own relay, which fences plan-relay-2.
    cluster.up(timeout=480)
    wait_for(lambda: further.poll() is not None, 120, "the further relay to be fenced in turn")
    running.stop()
    running.join(120)
    published = settled(cluster, topics)

    broken = [a for a in running.answers if not 200 <= a.status < 300]
    print(
        f"\nshared {halves}; killed {len(SERVICES)} API replicas and {len(consumers)} consumers; "
        f"survivors took over in {taken_over:.1f}s; answers {dict(running.statuses())}; "
        f"further relay exit {further.returncode}; exactly once {published}"
    )
    # Only a request that was in flight in a killed replica may go unanswered.
    assert all(a.status == 0 and kills_from <= a.at < killed_at + 5 for a in broken), [
        (a.command, a.content_type, round(a.at - killed_at, 1)) for a in broken
    ]
    assert further.returncode == EXIT_FENCED
    for service in SERVICES:
        assert missing(running.acknowledged(service), in_store(cluster, service)) == [], service
    assert cluster.dead_services() == []
