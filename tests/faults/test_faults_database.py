"""PostgreSQL stopped (`pg_ctl stop -m immediate`) during load, then restarted by `stack up`.

While it is down the APIs answer 503 problem+json (never 500) and nothing is half written; after
`stack up` commands succeed again and the relays and read models catch up with no manual step
(invariants 1, 2 and 7).
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.faults.support_checks import caught_up
from tests.faults.support_load import PlanLoad, plan_body, token
from tests.faults.support_stack import (
    PrivateStack,
    TopicReader,
    missing,
    query,
    version_gaps,
    wait_for,
)

# 480 s: the first test of a session also waits for the private stack to start.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(480)]

DATABASE_DOWN_SECONDS = 6.0
PROBLEM_JSON = "application/problem+json"


def a_plan_is_created(stack: PrivateStack) -> bool:
    try:
        response = httpx.post(
            stack.url("plan") + "/plans",
            json=plan_body("client-x", "client-y"),
            headers={"Authorization": f"Bearer {token()}"},
            timeout=10,
        )
    except httpx.TransportError:
        return False
    return response.status_code == 201


READS = {"plan": "/plans", "referral": "/referrals/worklist"}
SLOW_WHILE_DOWN = {
    ("GET", "consent", "/persons/client-x/consents"): None,
    ("POST", "plan", "/plans"): plan_body("client-x", "client-y"),
}


def ask(
    stack: PrivateStack,
    method: str,
    service: str,
    path: str,
    body: object = None,
    timeout: float = 10,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, float]:
    """(status, content type, seconds to answer); status 0 when no answer came in time."""
    auth = {"Authorization": f"Bearer {token(everyone=True)}", **(headers or {})}
    started = time.monotonic()
    try:
        response = httpx.request(
            method, stack.url(service) + path, json=body, headers=auth, timeout=timeout
        )
        status, kind = response.status_code, response.headers.get("content-type", "")
    except httpx.TransportError as exc:
        status, kind = 0, type(exc).__name__
    return status, kind, round(time.monotonic() - started, 1)


def test_reads_answer_503_while_the_database_is_down_and_all_resumes_after_stack_up(
    stack: PrivateStack, topics: dict[str, TopicReader]
) -> None:
    load = PlanLoad(stack.url, commands=200, threads=3, pace=0.2, timeout=15).start()
    time.sleep(2.0)
    stack.stop_postgres_immediately()
    down = {service: ask(stack, "GET", service, path) for service, path in READS.items()}
    restart = stack.up()
    recovered = wait_for(lambda: a_plan_is_created(stack), 30, "a plan command to succeed")
    load.join(120)
    after = PlanLoad(stack.url, commands=45, threads=3, pace=0.05).start()
    after.join(60)
    published = caught_up(stack, topics)

    print(
        f"\ndatabase down: reads {down}; stack up {restart:.1f}s; first write "
        f"{recovered:.1f}s later; load {dict(load.statuses())}; after {dict(after.statuses())}; "
        f"exactly once {published}"
    )
    for service, (status, kind, seconds) in down.items():
        assert status == 503 and kind.startswith(PROBLEM_JSON), (service, status, kind)
        assert seconds < 5, (service, seconds)
    assert load.statuses()[500] == 0 and after.statuses()[500] == 0
    assert all(200 <= a.status < 300 for a in after.answers), dict(after.statuses())
    url = stack.info.database_url
    assert version_gaps(url, "plan") == []
    stored = query(url, "SELECT originator_id::text, originator_version FROM plan.plan_events")
    assert missing(load.acknowledged() + after.acknowledged(), stored) == []


def test_every_request_while_the_database_is_down_answers_503_within_ten_seconds(
    stack: PrivateStack,
) -> None:
    stack.stop_postgres_immediately()
    try:
        answers = {
            f"{method} {service}{path}": ask(stack, method, service, path, body)
            for (method, service, path), body in SLOW_WHILE_DOWN.items()
        }
        # The idempotency store has a pool of its own: it must not wait psycopg_pool's 30 s.
        answers["POST plan/plans with an Idempotency-Key"] = ask(
            stack,
            "POST",
            "plan",
            "/plans",
            plan_body("client-x", "client-y"),
            headers={"Idempotency-Key": "while-down-1"},
        )
        print(f"\nwhile down: {answers}")
    finally:
        stack.up()
    # The request deadline (4 s) stops the event store's retries; without it a write took ~12 s.
    assert all(
        status == 503 and kind.startswith(PROBLEM_JSON) and seconds < 7
        for status, kind, seconds in answers.values()
    ), answers
