"""Relays, consumers, projections and an API SIGKILLed during load, then restarted by `stack up`.

Proves invariants 2 and 3 end to end: no event lost or doubled between each service's store and
its topic (read_committed, by ce_id), every read model complete, and one referral suggestion per
substance-use format shift, though the processes died mid-stream.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.faults.support_checks import caught_up
from tests.faults.support_load import PlanLoad, token
from tests.faults.support_stack import PrivateStack, TopicReader, version_gaps

# 480 s: the first test of a session also waits for the private stack to start.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(480)]

# (seconds into the load, components to SIGKILL); `stack up` follows each round.
KILL_ROUNDS = [
    (2.0, ("plan-relay", "referral-consumer", "plan-projections")),
    (3.0, ("plan-api", "referral-relay", "referral-projections", "plan-consumer")),
    (3.0, ("plan-relay", "referral-consumer", "referral-api")),
]


def test_processes_killed_during_load_lose_no_event_and_double_none(
    stack: PrivateStack, topics: dict[str, TopicReader]
) -> None:
    load = PlanLoad(stack.url, commands=300, threads=4, pace=0.15).start()
    restarts: list[float] = []
    killed: list[str] = []
    for delay, components in KILL_ROUNDS:
        time.sleep(delay)
        for component in components:
            stack.kill(component)
            killed.append(component)
        time.sleep(1.0)  # let the load hit the dead processes
        restarts.append(stack.up())
    load.join(180)
    stack.up()  # anything that died on its own since is started again
    published = caught_up(stack, topics)

    statuses = load.statuses()
    print(
        f"\nkilled {killed}; restarts took {[round(r, 1) for r in restarts]}s; "
        f"answers {dict(statuses)}; events checked exactly once {published}"
    )
    assert sum(statuses.values()) >= 300
    assert statuses[500] == 0, load.answers
    assert sum(n for s, n in statuses.items() if 200 <= s < 300) >= 150
    assert version_gaps(stack.info.database_url, "plan") == []


def send_a_referral(stack: PrivateStack) -> int:
    """Draft a referral and send it: the referral API asks the consent API (409: no consent)."""
    auth = {"Authorization": f"Bearer {token(everyone=True)}"}
    body = {
        "plan_id": str(uuid.uuid4()),
        "client_id": "client-x",
        "referral_type": "psychiatry",
        "reason": "assessment",
        "organization": {"id": "org-1", "name": "Org"},
    }
    referrals = stack.url("referral") + "/referrals"
    drafted = httpx.post(referrals, json=body, headers=auth, timeout=20)
    assert drafted.status_code == 201, drafted.text
    sent = httpx.post(f"{referrals}/{drafted.json()['id']}/send", json={}, headers=auth, timeout=20)
    return sent.status_code


def test_referrals_still_reach_the_consent_service_after_the_consent_api_restarts(
    stack: PrivateStack,
) -> None:
    assert send_a_referral(stack) == 409  # the decision point answered: NO_CONSENT
    stack.kill("consent-api")
    stack.up()
    assert send_a_referral(stack) == 409
