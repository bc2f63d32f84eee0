"""The relay joins the batches its reader has ready into one transaction, in order, to a limit."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from services.common.relay.config import Batch
from services.common.relay.reader import ReadAhead


class AliveProcess:
    def is_alive(self) -> bool:
        return True


def reader_with(*items: Batch | BaseException) -> ReadAhead:
    """A ReadAhead whose child already handed over `items` (no process is started)."""
    reader = object.__new__(ReadAhead)
    ready: queue.Queue[Any] = queue.Queue()
    for item in items:
        ready.put(item)
    reader._queue, reader._pending, reader._process = ready, None, AliveProcess()  # type: ignore[assignment]
    return reader


def batch(first: int, count: int) -> Batch:
    """`count` records for notification ids first..first+count-1 (key = the id)."""
    ids = range(first, first + count)
    return [(str(i).encode(), b"{}", [], 0) for i in ids], first + count - 1


def keys(records: Any) -> list[int]:
    return [int(r[0]) for r in records]


def test_batches_waiting_are_joined_in_order_with_the_last_position() -> None:
    reader = reader_with(batch(1, 2), batch(3, 3), batch(6, 1))
    first = reader.next(timeout=0.1)
    assert first is not None
    records, last = reader.more(first, limit=1000)
    assert keys(records) == [1, 2, 3, 4, 5, 6] and last == 6
    assert reader.next(timeout=0.01) is None


def test_a_batch_that_would_pass_the_limit_waits_for_the_next_transaction() -> None:
    reader = reader_with(batch(1, 4), batch(5, 4), batch(9, 4))
    first = reader.next(timeout=0.1)
    assert first is not None
    records, last = reader.more(first, limit=10)
    assert keys(records) == [1, 2, 3, 4, 5, 6, 7, 8] and last == 8
    second = reader.next(timeout=0.1)
    assert second is not None and keys(second[0]) == [9, 10, 11, 12]


def test_a_read_error_is_raised_after_the_batches_before_it_are_handed_over() -> None:
    reader = reader_with(batch(1, 2), RuntimeError("contract broken"), batch(3, 1))
    first = reader.next(timeout=0.1)
    assert first is not None
    records, last = reader.more(first, limit=1000)
    assert keys(records) == [1, 2] and last == 2
    with pytest.raises(RuntimeError, match="contract broken"):
        reader.next(timeout=0.1)
