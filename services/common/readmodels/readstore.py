"""The read side's PostgreSQL access: a connection pool for read models, and the event they see."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from contracts.naming import event_name
from contracts.records import event_body, event_meta
from services.common.settings import Settings
from services.common.store.pool import connection_pool, live_connection

Cursor = psycopg.Cursor[DictRow]


@dataclass(frozen=True)
class ProjectedEvent:
    """One stored event as a projection sees it: position, aggregate, name and decoded state."""

    position: int
    aggregate_id: UUID
    version: int
    stored_name: str  # careledger.plan.FormatShifted
    state: Mapping[str, Any]  # decoded and upcast; holds `timestamp` and `_meta`

    @property
    def name(self) -> str:
        return event_name(self.stored_name)

    @property
    def meta(self) -> dict[str, Any]:
        return event_meta(self.state)

    @property
    def tenant(self) -> str:
        return str(self.meta.get("tenant") or self.state.get("tenant") or "")

    @cached_property
    def body(self) -> dict[str, Any]:
        """The event as plain JSON values (the Kafka record value)."""
        return event_body(self.aggregate_id, self.version, self.state)


class ReadStore:
    """A psycopg pool for read models: projections write through it, APIs query through it."""

    def __init__(
        self, database_url: str, *, min_size: int = 1, max_size: int = 4, timeout: float = 1.0
    ) -> None:
        self.pool: ConnectionPool[psycopg.Connection[DictRow]] = connection_pool(
            database_url,
            timeout=timeout,
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row},
            connection_class=psycopg.Connection[DictRow],
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadStore:
        return cls(settings.database_url, timeout=settings.db_connect_timeout_seconds)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with live_connection(self.pool) as conn, conn.transaction(), conn.cursor() as cursor:
            yield cursor

    def query(
        self,
        query: LiteralString | sql.SQL | sql.Composed,
        params: Sequence[Any] | Mapping[str, Any] = (),
    ) -> list[dict[str, Any]]:
        with live_connection(self.pool) as conn:
            return conn.execute(query, params).fetchall()

    def close(self) -> None:
        self.pool.close()
