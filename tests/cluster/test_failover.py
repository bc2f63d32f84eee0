"""The PostgreSQL primary SIGKILLed under load, and the synchronous standby promoted.

While there is no primary the APIs answer 503 problem+json; `careledger stack failover`
promotes the standby (and rewinds the old primary into its standby); the services find the new
primary through their two-host URL without a restart; every acknowledged command is in it, and
the relays resume from their Kafka checkpoints with nothing lost or doubled.
"""

from __future__ import annotations

import time

import pytest

from tests.cluster.support_cluster import Cluster, OrderedReader, in_store, load, settled, steady
from tests.faults.support_load import Answer
from tests.faults.support_stack import SERVICES, missing, version_gaps, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

PROBLEM_JSON = "application/problem+json"


def test_the_promoted_standby_holds_every_acknowledged_command_and_the_relays_resume(
    cluster: Cluster, topics: dict[str, OrderedReader]
) -> None:
    running = load(cluster)
    steady(cluster, running)  # every process up and following (a read model starts lazily)
    pids = cluster.service_pids()
    primary = cluster.postgres_primary()
    cluster.kill(primary)
    killed_at = time.monotonic()
    # No primary: whatever answers now is a 503 problem+json (the standby takes no writes).
    wait_for(
        lambda: len(running.between(killed_at + 2, time.monotonic())) >= 10,
        90,
        "answers while there is no primary",
    )
    failover_at = time.monotonic()
    output = cluster.failover()
    promoted_at = time.monotonic()
    new_primary = cluster.postgres_primary()
    first_ok = wait_for(lambda: _ok_since(running.answers, promoted_at), 60, "a 2xx after it")
    settle = promoted_at + first_ok + 1
    wait_for(lambda: len(running.between(settle, time.monotonic())) >= 20, 120, "answers after")
    running.stop()
    running.join(120)
    published = settled(cluster, topics)

    without = running.between(killed_at + 2, failover_at)
    after = running.between(settle, float("inf"))
    print(
        f"\n{primary} killed; {len(without)} answers without a primary "
        f"{sorted({(a.status, a.content_type) for a in without})}; failover "
        f"{promoted_at - failover_at:.1f}s ({output.strip().splitlines()[:3]}); first 2xx "
        f"{first_ok:.1f}s after; {len(after)} answers after "
        f"{dict(running.statuses(promoted_at))}; exactly once {published}"
    )
    assert new_primary != primary and cluster.postgres_role(primary) == "standby"
    assert without and all(
        a.status == 503 and a.content_type.startswith(PROBLEM_JSON) for a in without
    ), sorted({(a.status, a.content_type) for a in without})
    assert len(after) >= 10 and all(200 <= a.status < 300 for a in after), dict(
        running.statuses(settle)
    )
    relapsed = {
        service: _after_first_2xx(running.answers, service, promoted_at) for service in SERVICES
    }
    assert not any(relapsed.values()), relapsed  # once a service answers 2xx, never 503 again
    for service in SERVICES:
        assert missing(running.acknowledged(service), in_store(cluster, service)) == [], service
        assert version_gaps(cluster.info.database_url, service) == [], service
    assert cluster.service_pids() == pids and cluster.dead_services() == []


def _ok_since(answers: list[Answer], since: float) -> bool:
    return any(a.at > since and 200 <= a.status < 300 for a in answers)


def _after_first_2xx(answers: list[Answer], service: str, since: float) -> list[tuple[int, str]]:
    """Answers other than 2xx to `service`'s requests sent after its first 2xx since `since`."""
    ok = [a.at for a in answers if a.service == service and a.at > since and 200 <= a.status < 300]
    if not ok:
        return []
    return [
        (a.status, a.command)
        for a in answers
        if a.service == service and a.sent > min(ok) and not 200 <= a.status < 300
    ]
