"""The request deadline stops the event store's retry loop instead of waiting it out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from eventsourcing.persistence import OperationalError
from eventsourcing.utils import retry

from services.common.errors import Unavailable
from services.common.store.deadline import deadline, guard_connections, remaining


class DownDatastore:
    """A datastore whose database is down: each connection attempt waits, then fails."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self.attempts = 0

    @contextmanager
    def get_connection(self) -> Iterator[object]:
        self.attempts += 1
        time.sleep(self.wait_s)
        raise OperationalError("connection refused")
        yield  # pragma: no cover

    # The library's shape: every store call retried 10 times on OperationalError.
    @retry((OperationalError,), max_attempts=10, wait=0.01)
    def select(self) -> None:
        with self.get_connection():
            pass


def test_without_a_deadline_the_library_retries_ten_times() -> None:
    store = DownDatastore(wait_s=0.0)
    guard_connections(store)
    with pytest.raises(OperationalError):
        store.select()
    assert store.attempts == 10


def test_past_the_deadline_no_new_attempt_starts_and_the_caller_gets_unavailable() -> None:
    store = DownDatastore(wait_s=0.05)
    guard_connections(store)
    started = time.monotonic()
    with deadline(0.12), pytest.raises(Unavailable, match="did not answer in time"):
        store.select()
    assert 2 <= store.attempts <= 4
    assert time.monotonic() - started < 0.5


def test_the_deadline_reaches_a_thread_run_in_a_copy_of_the_context() -> None:
    import contextvars

    seen: list[float | None] = []
    with deadline(5):
        context = contextvars.copy_context()
    worker = threading.Thread(target=lambda: seen.append(context.run(remaining)))
    worker.start()
    worker.join()
    assert seen[0] is not None and 4 < seen[0] <= 5
    assert remaining() is None


class SlowDatastore:
    """A healthy but slow database: every connection works."""

    def __init__(self) -> None:
        self.attempts = 0

    @contextmanager
    def get_connection(self) -> Iterator[object]:
        self.attempts += 1
        yield object()


def test_a_long_request_on_a_healthy_database_is_never_cut_off() -> None:
    store = SlowDatastore()
    guard_connections(store)
    with deadline(0.01):
        time.sleep(0.02)  # past the deadline, but nothing has failed
        with store.get_connection():
            pass
    assert store.attempts == 1


class FlakyDatastore:
    """The first connection fails (say, a stale pooled one), the rest work."""

    def __init__(self) -> None:
        self.attempts = 0

    @contextmanager
    def get_connection(self) -> Iterator[object]:
        self.attempts += 1
        if self.attempts == 1:
            raise OperationalError("server closed the connection unexpectedly")
        yield object()


def test_a_failure_the_retry_got_past_does_not_cut_the_rest_of_the_request() -> None:
    store = FlakyDatastore()
    guard_connections(store)
    with deadline(0.01):
        with pytest.raises(OperationalError):
            store.get_connection().__enter__()
        with store.get_connection():
            pass  # the database answered again
        time.sleep(0.02)  # past the deadline
        with store.get_connection():
            pass
    assert store.attempts == 3


def test_a_group_commit_batch_runs_on_its_own_budget_not_its_leaders() -> None:
    from services.common.context import CommandContext
    from services.common.store.deadline import current
    from services.common.store.group_commit import GroupCommit
    from tests.unit.common.support_kit import Note

    seen: list[tuple[float | None, bool]] = []

    def put(events: object) -> None:
        budget = current()
        seen.append((remaining(), budget.failed if budget else False))

    commit = GroupCommit(put)
    ctx = CommandContext(actor_id="u1", actor_role="clinician", tenant="practice-a")
    with deadline(0.01):
        leader_budget = current()
        assert leader_budget is not None
        leader_budget.failed = True  # this request's own call failed earlier...
        time.sleep(0.02)  # ...and its deadline has passed
        commit.save(ctx, [Note(tenant="practice-a", client_id="c1", text="t")])
    left, failed = seen[0]
    assert left is not None and left < 0  # bounded by the batch's deadline, the latest one
    assert failed is False  # but not refused for the leader's earlier failure
