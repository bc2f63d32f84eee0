"""The Kafka broker SIGKILLed during load: commands keep succeeding, events arrive exactly once.

Invariant 1 (a command succeeds when PostgreSQL commits, Kafka up or not) and 2 (every committed
event reaches its topic exactly once after the broker comes back, `stack up` restarting it).
"""

from __future__ import annotations

import time

import pytest

from tests.faults.support_checks import assert_all_succeeded, caught_up
from tests.faults.support_load import PlanLoad
from tests.faults.support_stack import PrivateStack, TopicReader, count, wait_for

# 480 s: the first test of a session also waits for the private stack to start.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(480)]

BROKER_DOWN_SECONDS = 6.0
SUGGESTIONS = (
    "SELECT count(*) FROM referral.referral_events WHERE topic LIKE '%.ReferralDrafted' "
    "AND convert_from(state, 'UTF8')::jsonb->>'origin' = 'plan-suggestion'"
)


def test_commands_succeed_while_the_broker_is_down_and_every_event_arrives_once_after(
    stack: PrivateStack, topics: dict[str, TopicReader]
) -> None:
    # Steady state first: the referral consumer reacts to plan events. A warm-up load, so that
    # the load below still runs when the broker dies however long the consumer took to start.
    url = stack.info.database_url
    before = count(url, SUGGESTIONS)
    warm_up = PlanLoad(stack.url, commands=15, threads=1, pace=0.1).start()
    wait_for(lambda: count(url, SUGGESTIONS) > before, 90, "the referral consumer to react")
    warm_up.join(60)
    load = PlanLoad(stack.url, commands=150, threads=3, pace=0.2).start()
    wait_for(lambda: len(load.answers) >= 5, 30, "the load to run")
    stack.kill("kafka")
    down_at = time.monotonic()
    time.sleep(BROKER_DOWN_SECONDS)
    during = load.between(down_at, time.monotonic())
    restart = stack.up()
    load.join(180)
    published = caught_up(stack, topics)

    during_statuses = sorted({a.status for a in during})
    print(
        f"\nbroker down {BROKER_DOWN_SECONDS}s: {len(during)} commands answered "
        f"{during_statuses}; restart {restart:.1f}s; exactly once {published}"
    )
    assert_all_succeeded(during, 10, "the broker was down", load, warm_up)
