"""The request deadline stops the event store's retry loop instead of waiting it out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from eventsourcing.persistence import OperationalError
from eventsourcing.utils import retry

from services.common.deadline import deadline, guard_connections, remaining
from services.common.errors import Unavailable


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
