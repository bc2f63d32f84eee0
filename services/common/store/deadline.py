"""A request deadline: past it, a request whose database calls fail stops retrying (503).

The eventsourcing PostgreSQL recorder retries each call 10 times on a connection error, each try
waiting up to the pool timeout, so with the database down one request could wait ~12 s. The API
sets a deadline per request (a context variable, which Starlette copies into the worker thread);
`guard_connections` wraps a datastore's `get_connection` so that once a call of this request has
failed and the deadline has passed, the next attempt raises `Unavailable` (not an eventsourcing
`OperationalError`, so the library's retry loop stops). A request that is merely long (a large
report on a healthy database) is never cut, and a transaction already running is never cut:
only new attempts are refused, so nothing is half written. Processes that set no deadline
(relay, consumers) are unaffected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError

from services.common.errors import Unavailable


@dataclass
class _Budget:
    end: float  # time.monotonic() after which a failing request stops trying
    failed: bool = False  # a database call of this request has failed


_budget: ContextVar[_Budget | None] = ContextVar("careledger_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within this block (and threads run in a copy of its context), retry only `seconds`."""
    token = _budget.set(_Budget(time.monotonic() + seconds))
    try:
        yield
    finally:
        _budget.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline, or None when no deadline is set."""
    budget = _budget.get()
    return None if budget is None else budget.end - time.monotonic()


def check(what: str) -> None:
    """Raise `Unavailable` (503) if the current deadline has passed."""
    left = remaining()
    if left is not None and left <= 0:
        raise Unavailable(f"{what} did not answer in time; retry shortly")


def current() -> _Budget | None:
    """This request's budget (None outside a request), to hand to work done on its behalf."""
    return _budget.get()


@contextmanager
def on_behalf_of(budgets: list[_Budget | None]) -> Iterator[None]:
    """Work for several requests at once (a group commit): bounded by the latest deadline.

    The batch gets a budget of its own, so one request's earlier failures never refuse the
    others' commands; with any request without a deadline, the batch has none either.
    """
    ends = [b.end for b in budgets if b is not None]
    batch = _Budget(max(ends)) if ends and len(ends) == len(budgets) else None
    token = _budget.set(batch)
    try:
        yield
    finally:
        _budget.reset(token)


def guard_connections(datastore: Any, what: str = "the event store") -> None:
    """Make `datastore.get_connection` refuse to retry once the request's deadline has passed."""
    original: Callable[[], AbstractContextManager[Any]] = datastore.get_connection

    @contextmanager
    def get_connection() -> Iterator[Any]:
        budget = _budget.get()
        if budget is not None and budget.failed:
            check(what)
        try:
            with original() as connection:
                if budget is not None:
                    budget.failed = False  # the database answered: a long request goes on
                yield connection
        except (OperationalError, InterfaceError):
            if budget is not None:
                budget.failed = True
            raise

    datastore.get_connection = get_connection
