"""Pools serve again as soon as the database does: after an outage, and after their connections
were ended by the server (a restart, a failover). Real PostgreSQL; the outage is a TCP relay in
front of it that closes every connection and drops new ones for a while (support_pg_link.py)."""

from __future__ import annotations

import contextlib
import time
import uuid

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from services.common.readmodels.readstore import ReadStore
from tests.integration.support_pg_link import CuttableLink, link

__all__ = ["link"]  # the fixture

pytestmark = [pytest.mark.integration]

OUTAGE_SECONDS = 9.0  # long enough for psycopg_pool's default backoff to reach an 8 s delay


def through(database_url: str, link: CuttableLink) -> str:
    return make_conninfo(database_url, host="127.0.0.1", port=str(link.port))


def test_a_pool_serves_the_first_request_after_a_long_outage_without_waiting_out_a_backoff(
    database_url: str, link: CuttableLink
) -> None:
    store = ReadStore(through(database_url, link), min_size=1, max_size=4, timeout=1.0)
    try:
        assert store.query("SELECT 1 AS one") == [{"one": 1}]
        link.cut()
        refused, ends = 0, time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < ends:  # requests keep coming while the database is away
            with contextlib.suppress(psycopg.OperationalError):
                store.query("SELECT 1 AS one")
                pytest.fail("a query succeeded while the database was unreachable")
            refused += 1
            time.sleep(0.2)
        link.restore()
        back = time.monotonic()
        assert store.query("SELECT 1 AS one") == [{"one": 1}], "the first request after it"
        print(f"\n{refused} refused in the outage; served {time.monotonic() - back:.2f}s after")
    finally:
        store.close()


def test_connections_the_server_ended_are_never_handed_out(database_url: str) -> None:
    name = f"pool-{uuid.uuid4().hex[:8]}"
    store = ReadStore(make_conninfo(database_url, application_name=name), min_size=3, max_size=3)
    try:
        store.pool.wait(timeout=10)  # three idle connections
        with psycopg.connect(database_url, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s) t",
                (name,),
            ).fetchone()
        assert ended == (3,)
        time.sleep(0.2)  # the server's goodbye reaches the client sockets
        for _ in range(3):  # each would otherwise meet one dead connection and fail
            assert store.query("SELECT 1 AS one") == [{"one": 1}]
    finally:
        store.close()
