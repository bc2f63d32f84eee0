"""The relay against a frozen broker and against a twin: nothing lost, nothing doubled.

- The broker SIGSTOPped for longer than the relay's transaction timeout (60 s), then continued:
  the open transaction is aborted by the coordinator once it runs again; the relay's flush and
  commit are bounded, so it reconnects and sends again from the committed checkpoint. Commands
  keep succeeding meanwhile (invariant 1), the relay neither exits nor publishes twice.
- Two relays of one service started at the same instant: the later `init_transactions` fences
  the earlier, which exits 3; the survivor publishes everything once (invariant 2).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

import pytest

from services.stack.stack import executable
from services.stack.state import pid_alive
from tests.faults.support_checks import assert_all_succeeded, stopped_and_caught_up
from tests.faults.support_load import PlanLoad
from tests.faults.support_stack import REPO, PrivateStack, TopicReader, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(480)]

TRANSACTION_TIMEOUT_S = 60  # the relay's default transaction_timeout_ms
PAUSE_SECONDS = TRANSACTION_TIMEOUT_S + 15
EXIT_FENCED = 3
UNBOUNDED = 1_000_000  # the load runs until the test stops it
RELAYS = ("plan-relay", "consent-relay", "referral-relay")


def test_a_broker_frozen_longer_than_the_transaction_timeout_loses_and_doubles_nothing(
    stack: PrivateStack, topics: dict[str, TopicReader]
) -> None:
    relays = {name: stack.pid(name) for name in RELAYS}
    load = PlanLoad(stack.url, commands=UNBOUNDED, threads=2, pace=0.5).start()
    wait_for(lambda: len(load.answers) >= 10, 60, "the load to run")
    kafka = stack.pid("kafka")
    freeze(kafka, signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        time.sleep(PAUSE_SECONDS)
    finally:
        freeze(kafka, signal.SIGCONT)
    thawed_at = time.monotonic()
    during = load.between(stopped_at, thawed_at)
    # and some commands after it continued
    wait_for(lambda: len(load.between(thawed_at, time.monotonic())) >= 10, 60, "commands after")
    published = stopped_and_caught_up(load, stack, topics)

    statuses = sorted({a.status for a in during})
    print(
        f"\nbroker frozen {PAUSE_SECONDS}s: {len(during)} commands answered {statuses}; "
        f"exactly once {published}"
    )
    assert_all_succeeded(during, 20, "the broker was frozen", load)
    gone = [name for name, pid in relays.items() if not pid_alive(pid)]
    assert not gone, f"relays exited instead of reconnecting: {gone}"


def freeze(pid: int, sig: signal.Signals) -> None:
    """SIGSTOP or SIGCONT a component: its process group when it leads one."""
    if os.getpgid(pid) == pid:
        os.killpg(pid, sig)
    else:
        os.kill(pid, sig)


def start_relay(stack: PrivateStack, name: str) -> subprocess.Popen[bytes]:
    with (stack.home / "logs" / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            [executable(), "relay", "plan"],
            env=stack.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def test_two_relays_of_one_service_started_at_once_leave_one_and_publish_once(
    stack: PrivateStack, topics: dict[str, TopicReader]
) -> None:
    load = PlanLoad(stack.url, commands=UNBOUNDED, threads=2, pace=0.3).start()
    wait_for(lambda: len(load.answers) >= 10, 60, "the load to run")
    stack.kill("plan-relay")
    twins = [start_relay(stack, "plan-relay-twin-a"), start_relay(stack, "plan-relay-twin-b")]
    try:
        wait_for(lambda: any(t.poll() is not None for t in twins), 180, "one twin to be fenced")
        [loser] = [t for t in twins if t.poll() is not None]
        [survivor] = [t for t in twins if t is not loser]
        reader = topics["plan"]
        reader.poll_for(1.0)
        fenced = len(reader.counts)
        wait_for(  # the survivor publishing on its own
            lambda: reader.poll_for(0.5) is None and len(reader.counts) >= fenced + 20,
            120,
            "the survivor to publish",
        )
        published = stopped_and_caught_up(load, stack, topics)  # by the survivor alone
        assert loser.returncode == EXIT_FENCED, loser.returncode
        assert survivor.poll() is None, f"the survivor exited too ({survivor.returncode})"
    finally:
        for twin in twins:
            with contextlib.suppress(ProcessLookupError):
                twin.terminate()
        for twin in twins:
            try:
                twin.wait(timeout=60)
            except subprocess.TimeoutExpired:
                twin.kill()
                twin.wait(timeout=10)
        stack.up()  # the stack's own plan relay again, for the tests after this one
    print(f"\ntwo relays at once: one fenced (exit 3), one published; exactly once {published}")
    assert load.statuses()[500] == 0
