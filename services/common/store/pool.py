"""Connection pools that serve again as soon as the database does (after a restart or a failover).

Two defaults of psycopg_pool make a pool lag behind a database that has come back:
- a connection the server closed (its primary was killed) stays in the pool, idle, until a
  request takes it and fails on it; `live_connection` looks first, without a round trip, and
  discards such a connection instead of handing it out;
- a pool that failed to reconnect retries with exponential backoff for `reconnect_timeout`
  (default 5 min): after 30 s without a database its next attempt can be 16 s away, and every
  request meanwhile waits its timeout and answers 503. With a short `reconnect_timeout` the
  pool gives up such a series within half a second, and the next request that finds no connection
  makes a new attempt at once.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

RECONNECT_SECONDS = 0.5  # a series of failed reconnection attempts lasts this long (< pool waits)

C = TypeVar("C", bound=psycopg.Connection[Any])


def connection_pool(
    conninfo: str, *, timeout: float, min_size: int = 1, max_size: int = 4, **options: Any
) -> ConnectionPool[Any]:
    """An open pool; `timeout` is the longest wait for a connection (psycopg_pool's is 30 s)."""
    return ConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        open=True,
        reconnect_timeout=RECONNECT_SECONDS,
        **options,
    )


def reconnect_promptly(pool: ConnectionPool[Any]) -> None:
    """Bound the reconnection backoff of a pool made elsewhere (the event store's), before open."""
    pool.reconnect_timeout = RECONNECT_SECONDS


@contextmanager
def live_connection(pool: ConnectionPool[C]) -> Iterator[C]:
    """Like `pool.connection()`, but never a connection the server has already closed."""
    for _ in range(pool.max_size):
        conn = pool.getconn()
        if not closed_by_server(conn):
            break
        conn.close()
        pool.putconn(conn)  # a closed connection is discarded, and the pool makes a new one
    else:
        conn = pool.getconn()
    try:
        with conn:
            yield conn
    finally:
        pool.putconn(conn)


def closed_by_server(conn: psycopg.Connection[Any]) -> bool:
    """True for a connection the server ended; an idle connection has nothing else to read."""
    if conn.closed or conn.broken:
        return True
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))
