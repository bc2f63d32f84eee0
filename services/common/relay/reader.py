"""Read ahead: a child process reads and encodes the relay's next batches while it publishes.

Reading the notification log and encoding records (decode, contract check, CloudEvents headers)
cost about as much CPU as kafka-python's own send; in one process both share one GIL, and the
relay ran at a third of a plain producer's rate. A spawned child does the reading and encoding
on another core and hands over ready (key, value, headers, partition) in log order, at most
`depth` batches ahead. Exactly-once does not depend on it: the publisher commits positions in
Kafka, and after any Kafka failure it discards the reader and starts a new one from the
committed position. The child dies with its parent: on Linux the kernel kills it when the relay
does (PR_SET_PDEATHSIG), even while it waits on the database or on a full pipe; elsewhere it
checks its parent pid, and an orphaned child never waits to flush its queue on exit. An event
that cannot become a record (it does not decode, has no contract or breaks it) is handed over as
`Poison`, for the relay to quarantine; a record over the topic's size limit, or any other error,
is handed over as the exception it is. Caught up, it sleeps until the next commit's notification
or the poll interval (relay_source.CommitWakeup).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
from typing import TYPE_CHECKING, Any

from services.common.relay.config import Batch, Poison, RecordTooLarge, Wire

if TYPE_CHECKING:
    from services.common.relay.config import RelayConfig
    from services.common.settings import Settings

_CTX = multiprocessing.get_context("spawn")  # never fork a process with client threads
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class ReadAhead:
    """Encoded batches after `position`, from a child process; `next()` returns them in order."""

    def __init__(
        self,
        config: RelayConfig,
        settings: Settings,
        position: int,
        *,
        partitions: int,
        record_limit: int = 0,
        depth: int = 3,
    ) -> None:
        self._queue: Any = _CTX.Queue(maxsize=depth)
        self._halt: Any = _CTX.Event()
        limits = (partitions, record_limit)
        self._process = _CTX.Process(
            target=_read_ahead,
            args=(config, settings, position, limits, self._queue, self._halt, os.getpid()),
            name=f"relay-read-ahead-{config.service}",
            daemon=True,
        )
        self._process.start()
        self._pending: Batch | BaseException | None = None  # taken from the queue by more()

    def next(self, timeout: float) -> Batch | None:
        """The next batch, or None when none arrived within `timeout`; re-raises read errors."""
        item, self._pending = self._pending, None
        try:
            if item is None:
                item = self._queue.get(timeout=timeout)
        except queue.Empty:
            if not self._process.is_alive():
                raise RuntimeError(
                    f"the relay's reader exited with {self._process.exitcode}"
                ) from None
            return None
        if isinstance(item, BaseException):
            raise item
        batch: Batch = item
        return batch

    def more(self, batch: Batch, limit: int) -> Batch:
        """`batch` and the batches already waiting after it, joined while under `limit` records."""
        records, last = batch
        while self._pending is None:
            try:
                self._pending = self._queue.get_nowait()
            except queue.Empty:
                break
            item = self._pending
            if isinstance(item, BaseException) or len(records) + len(item[0]) > limit:
                break  # next() hands it over after this batch
            records, last, self._pending = records + item[0], item[1], None
        return records, last

    def close(self) -> None:
        self._halt.set()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._queue.cancel_join_thread()
        self._queue.close()


def _read_ahead(
    config: RelayConfig,
    settings: Settings,
    position: int,
    limits: tuple[int, int],
    out: Any,
    halt: Any,
    parent: int,
) -> None:
    """The child: read, encode, hand over; until halted, orphaned or failed."""
    from services.common.relay.source import CommitWakeup, RecordSource

    _die_with(parent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    source = RecordSource(config, settings)
    wakeup = CommitWakeup(source.channel, settings)
    try:
        wakeup.listen()  # before the first read, so that no later commit goes unnoticed
        while not halt.is_set() and os.getppid() == parent:
            try:
                notifications = source.fetch(position + 1)
                if not notifications:
                    wakeup.wait(config.poll_interval_s, halt)
                    continue
                items, last, stop = encoded(source, notifications, limits)
                if items and not _put(out, (items, last), halt, parent):
                    return
                item: Batch | BaseException | None = stop
            except Exception as exc:  # handed to the publisher, which stops on it
                item = exc
            if item is not None:
                _put(out, item, halt, parent)
                return
            position = last
    finally:
        if halt.is_set() or os.getppid() != parent:
            out.cancel_join_thread()  # nobody reads what is left: exit without flushing it
        wakeup.close()
        source.close()


def _die_with(parent: int) -> None:
    """Have the kernel SIGKILL this process when the thread that started it ends (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the relay died before that took effect
        os._exit(0)


def encoded(
    source: Any, notifications: Any, limits: tuple[int, int]
) -> tuple[list[Wire | Poison], int, BaseException | None]:
    """The records of the notifications, the last position they cover, and the record too
    large for the topic that cut them short (if one did: the relay publishes what is before
    it, then stops)."""

    items: list[Wire | Poison] = []
    last = 0
    for notification in notifications:
        try:
            items.append(encode(source, notification, *limits))
        except RecordTooLarge as exc:
            return items, last, exc
        last = notification.id
    return items, last, None


def encode(source: Any, notification: Any, partitions: int, record_limit: int) -> Wire | Poison:
    """The record of one notification, or what keeps it from being one (a record too large
    for the topic is not poison: it raises, and the relay stops)."""
    from services.common.quarantine import reason_of

    try:
        wire: Wire = source.wire(notification, partitions, record_limit)
        return wire
    except RecordTooLarge:
        raise
    except Exception as exc:
        return Poison(
            notification.id,
            str(notification.originator_id),
            str(notification.topic),
            reason_of(exc),
        )


def _put(out: Any, item: Batch | BaseException, halt: Any, parent: int) -> bool:
    while not halt.is_set() and os.getppid() == parent:
        try:
            out.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False
