"""Group commit: concurrent commands' events saved together in one transaction.

The eventsourcing PostgreSQL recorder locks the events table for every insert (that is what keeps
the notification log in commit order for tailing readers), so one transaction per command caps a
service near the database's lock round-trip rate. Here the first command to arrive leads: it
saves its own events and every command that queued meanwhile, in one transaction, and hands the
outcome to each waiting thread. Then it hands leadership on to the first command that queued
since, and returns: a thread commits one batch at most, so no request waits behind more than one
batch of others. An uncontended command pays nothing extra. If the batch breaks a version
constraint, the leader saves each command on its own so only the real loser gets a 409.

Each command's events are turned into stored events in its own thread before it queues (the
mapper refuses one that the stores could not hold), so one bad command never fails a batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError

from contracts.records import META_KEY
from services.common.context import CommandContext
from services.common.store import deadline

PutEvents = Callable[[Sequence[Any]], Any]


def _unchanged(event: Any) -> Any:
    return event


@dataclass
class _Command:
    events: list[Any]
    budget: Any = None  # the request's deadline budget (deadline.py), None outside a request
    wake: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    error: BaseException | None = None


class GroupCommit:
    """`put` stores a list of events in one transaction; `to_stored` prepares one event for it."""

    def __init__(
        self, put: PutEvents, to_stored: Callable[[Any], Any] = _unchanged, max_batch: int = 256
    ) -> None:
        self._put = put
        self._to_stored = to_stored
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Command] = []
        self._leading = False

    def save(self, ctx: CommandContext, aggregates: Sequence[Any]) -> None:
        """Store the aggregates' pending events as `ctx`; raises what the store raised."""
        events = [event for agg in aggregates for event in agg.collect_events()]
        if not events:
            return
        meta = ctx.as_metadata()
        for event in events:
            object.__setattr__(event, META_KEY, meta)  # events are frozen dataclasses
        command = _Command([self._to_stored(event) for event in events], deadline.current())
        with self._lock:
            self._queue.append(command)
            lead = not self._leading
            self._leading = True
        if not lead:
            command.wake.wait()  # done, or handed the lead
        if not command.done:
            self._lead()
        if command.error is not None:
            raise command.error

    def _lead(self) -> None:
        """Commit the queue's first batch (the leader's own command is its first), hand on."""
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: len(batch)]
        self._commit(batch)
        with self._lock:
            if not self._queue:
                self._leading = False
                return
            following = self._queue[0]
        following.wake.set()  # not done: it leads the next batch

    def _commit(self, batch: list[_Command]) -> None:
        try:
            with deadline.on_behalf_of([command.budget for command in batch]):
                self._put([event for command in batch for event in command.events])
        except IntegrityError:
            if len(batch) == 1:
                self._finish(batch, IntegrityError("version conflict"))
                return
            for command in batch:  # find the loser(s): each on its own
                self._commit([command])
            return
        except BaseException as exc:  # every waiter must wake, whatever went wrong
            self._finish(batch, exc)
            return
        self._finish(batch, None)

    @staticmethod
    def _finish(batch: list[_Command], error: BaseException | None) -> None:
        for command in batch:
            command.error = error
            command.done = True
            command.wake.set()
