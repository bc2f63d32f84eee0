"""A request deadline: past it, no new database connection is taken and the caller gets a 503.

The eventsourcing PostgreSQL recorder retries each call 10 times on a connection error, each try
waiting up to the pool timeout, so with the database down one request could wait ~12 s. The API
sets a deadline per request (a context variable, which Starlette copies into the worker thread);
`guard_connections` wraps a datastore's `get_connection` so that, once the deadline has passed,
the next attempt raises `Unavailable` (not an eventsourcing `OperationalError`, so the library's
retry loop stops). A transaction already running is never cut: only new connections are refused,
so nothing is half written. Processes that set no deadline (relay, consumers) are unaffected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

from services.common.errors import Unavailable

_deadline: ContextVar[float | None] = ContextVar("careledger_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within this block (and threads run in a copy of its context), start work before `seconds`."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline, or None when no deadline is set."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


def check(what: str) -> None:
    """Raise `Unavailable` (503) if the current deadline has passed."""
    left = remaining()
    if left is not None and left <= 0:
        raise Unavailable(f"{what} did not answer in time; retry shortly")


def guard_connections(datastore: Any, what: str = "the event store") -> None:
    """Make `datastore.get_connection` refuse to start once the request's deadline has passed."""
    original: Callable[[], AbstractContextManager[Any]] = datastore.get_connection

    @contextmanager
    def get_connection() -> Iterator[Any]:
        check(what)
        with original() as connection:
            yield connection

    datastore.get_connection = get_connection
