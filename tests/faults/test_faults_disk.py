"""PostgreSQL's data file system full, and the broker's log dir file system full, then freed.

Each on a loop-mounted file system of its own (the `disks` fixture moves them there), filled
to the last block by a ballast file during load. PostgreSQL full: commands answer 503
problem+json (never 500) and nothing acknowledged is lost or half written. Broker full: commands
keep succeeding (the event store, not Kafka, acknowledges them). After the ballast goes and
`stack up` starts PostgreSQL or the broker if it stopped (a supervisor's job), everything
reaches its topic exactly once, and no service process was restarted: each recovered by itself.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from services.stack.state import pid_alive
from tests.faults.support_checks import assert_all_succeeded, stopped_and_caught_up
from tests.faults.support_disk import full
from tests.faults.support_load import PlanLoad
from tests.faults.support_stack import (
    PrivateStack,
    TopicReader,
    missing,
    query,
    version_gaps,
    wait_for,
)
from tests.faults.test_faults_database import PROBLEM_JSON, a_plan_is_created

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(480)]

UNBOUNDED = 1_000_000  # the load runs until the test stops it
REFUSED = 6  # commands refused while the database's disk is full


def refused(load: PlanLoad, since: float) -> list[int]:
    return [a.status for a in load.answers if a.at >= since and a.status >= 500]


def test_a_full_database_disk_answers_503_loses_nothing_acknowledged_and_recovers(
    disks: dict[str, Path], stack: PrivateStack, topics: dict[str, TopicReader]
) -> None:
    load = PlanLoad(stack.url, commands=UNBOUNDED, threads=3, pace=0.1, timeout=15).start()
    wait_for(lambda: len(load.answers) >= 10, 60, "the load to run")
    pids = stack.service_pids()
    with full(disks["pg"]):
        filled_at = time.monotonic()
        wait_for(lambda: len(refused(load, filled_at)) >= REFUSED, 120, "commands to be refused")
        during = load.between(filled_at, time.monotonic())
    freed_at = time.monotonic()
    restart = stack.up()  # starts PostgreSQL again if it stopped (its supervisor's job)
    recovered = wait_for(lambda: a_plan_is_created(stack), 60, "a plan command to succeed")
    published = stopped_and_caught_up(load, stack, topics)

    statuses = load.statuses(filled_at, freed_at)
    print(
        f"\ndatabase disk full: answers {dict(statuses)}; stack up {restart:.1f}s; first write "
        f"{recovered:.1f}s after; exactly once {published}"
    )
    assert statuses[500] == 0 and load.statuses()[500] == 0, dict(statuses)
    unavailable = [a for a in during if a.status == 503]
    assert unavailable, dict(statuses)
    assert all(a.content_type.startswith(PROBLEM_JSON) for a in unavailable), {
        a.content_type for a in during
    }
    url = stack.info.database_url
    assert version_gaps(url, "plan") == []
    stored = query(url, "SELECT originator_id::text, originator_version FROM plan.plan_events")
    assert missing(load.acknowledged(), stored) == []
    assert stack.service_pids() == pids and stack.dead_services() == [], "a service restarted"


def test_a_full_broker_disk_keeps_commands_succeeding_and_every_event_arrives_once_after(
    disks: dict[str, Path], stack: PrivateStack, topics: dict[str, TopicReader]
) -> None:
    load = PlanLoad(stack.url, commands=UNBOUNDED, threads=2, pace=0.2).start()
    wait_for(lambda: len(load.answers) >= 10, 60, "the load to run")
    pids = stack.service_pids()
    kafka = stack.pid("kafka")
    with full(disks["kafka"]):
        filled_at = time.monotonic()
        # Its next segment or index write fails, and a broker whose only log dir failed stops.
        stopped = wait_for(lambda: not pid_alive(kafka), 120, "the broker to stop")
        wait_for(lambda: len(load.between(filled_at, time.monotonic())) >= 20, 60, "commands")
        during = load.between(filled_at, time.monotonic())
    full_for = time.monotonic() - filled_at
    restart = stack.up()  # starts the broker again
    published = stopped_and_caught_up(load, stack, topics)

    statuses = sorted({a.status for a in during})
    print(
        f"\nbroker disk full {full_for:.1f}s (broker stopped after {stopped:.1f}s): "
        f"{len(during)} commands answered {statuses}; "
        f"stack up {restart:.1f}s; exactly once {published}"
    )
    assert_all_succeeded(during, 10, "the disk was full", load)
    now = stack.service_pids()
    restarted = sorted(
        {n for n, pid in pids.items() if now.get(n) != pid} | set(stack.dead_services())
    )
    assert restarted == [], f"restarted while the broker's log dir had failed: {restarted}"
