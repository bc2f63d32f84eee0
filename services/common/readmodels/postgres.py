"""The PostgreSQL variant of a summary read model: a table per `SummaryKind`, queried in SQL.

`SummaryProjection.of(kind)` is the projection `careledger projections` runs: one row per
aggregate (id, tenant, the typed columns, the summary as JSON) and the kind's indexes; its
shape is tracked, so a change of columns or indexes drops and replays it (projection.py).
`PostgresSummaries` catches it up before each read and answers `query.py` questions with one
indexed, keyset-paged SELECT and a count.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from psycopg import sql
from psycopg.types.json import Jsonb

from services.common.readmodels.projection import Cursor, ProjectedEvent, Projection
from services.common.readmodels.query import COUNT_LIMIT, AllOf, Condition, Found, Order, Window
from services.common.readmodels.readmodel import CaughtUpProjection
from services.common.readmodels.readstore import ReadStore
from services.common.readmodels.summaries import SummaryKind, found_page, key_after

S = TypeVar("S")


class SummaryProjection(Projection, Generic[S]):
    """The PostgreSQL table of one `SummaryKind`: typed columns, their indexes, the JSON."""

    kind: ClassVar[SummaryKind[Any]]

    @classmethod
    def of(cls, kind: SummaryKind[Any]) -> type[SummaryProjection[Any]]:
        """The projection class of `kind` (what `careledger projections` runs and rebuilds)."""
        attrs = {
            "kind": kind,
            "name": kind.name,
            "schema": kind.schema,
            "tables": (kind.table,),
            "topics": kind.topics,
        }
        return type(f"{kind.name.title().replace('_', '')}Projection", (cls,), attrs)

    @classmethod
    def table_id(cls) -> sql.Identifier:
        return sql.Identifier(cls.schema, cls.kind.table)

    def shape(self) -> str:
        return self.kind.shape()

    def create_statements(self) -> list[sql.Composed]:
        table = self.table_id()
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.kind))
            for c in self.kind.columns
        ]
        statements: list[sql.Composed] = [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id text PRIMARY KEY, tenant text NOT NULL, "
                "{}, data jsonb NOT NULL)"
            ).format(table, sql.SQL(", ").join(columns))
        ]
        if any(index.method == "gin" for index in self.kind.indexes):
            statements.insert(0, sql.SQL("CREATE EXTENSION IF NOT EXISTS btree_gin").format())
        for index in self.kind.indexes:
            name = f"{self.kind.table}_{'_'.join(index.columns)}"
            if index.where is not None:
                name += "_p" + hashlib.sha256(index.where.encode()).hexdigest()[:6]
            if index.method == "gin":
                name += "_gin"
            statement = sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING {} ({})").format(
                sql.Identifier(name[:63]),
                table,
                sql.SQL(index.method),
                sql.SQL(", ").join(sql.Identifier(c) for c in index.columns),
            )
            if index.where is not None:
                statement = sql.SQL("{} WHERE {}").format(statement, sql.SQL(index.where))
            statements.append(statement)
        return statements

    def process(self, cursor: Cursor, event: ProjectedEvent) -> None:
        sid = str(event.aggregate_id)
        cursor.execute(sql.SQL("SELECT data FROM {} WHERE id = %s").format(self.table_id()), (sid,))
        found = cursor.fetchone()
        summaries = {sid: self.kind.from_json(found["data"])} if found else {}
        self.kind.fold(summaries, event.name, sid, event.version, event.state)
        if sid not in summaries:
            return
        row = self.kind.row(sid, summaries[sid])
        row["data"] = Jsonb(self.kind.to_json(summaries[sid]))
        names = list(row)
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET ({}) = ({})"
            ).format(
                self.table_id(),
                sql.SQL(", ").join(sql.Identifier(n) for n in names),
                sql.SQL(", ").join(sql.Placeholder() * len(names)),
                sql.SQL(", ").join(sql.Identifier(n) for n in names[1:]),
                sql.SQL(", ").join(
                    sql.SQL("EXCLUDED.{}").format(sql.Identifier(n)) for n in names[1:]
                ),
            ),
            list(row.values()),
        )

    def select(
        self,
        tenant: str,
        where: Sequence[Condition],
        *,
        order: Order | None = None,
        after: Sequence[Any] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of `tenant` matching `where`, in `order`, from `after` (a key) or `offset`."""
        condition, params = AllOf(tuple(where)).clause()
        query = sql.SQL("SELECT * FROM {} WHERE tenant = %s AND ({})").format(
            self.table_id(), condition
        )
        values: list[Any] = [tenant, *params]
        if after is not None and order is not None:
            query = sql.SQL("{} AND {}").format(query, order.after(after))
            values.extend(after)
        if order is not None:
            query = sql.SQL("{} ORDER BY {}").format(query, order.clause())
        if limit is not None:
            query = sql.SQL("{} LIMIT %s").format(query)
            values.append(limit)
        if offset:
            query = sql.SQL("{} OFFSET %s").format(query)
            values.append(offset)
        return [self._typed(r) for r in self._store().query(query, values)]

    def count(self, tenant: str, where: Sequence[Condition], *, up_to: int) -> int:
        """How many rows match, counting no further than `up_to`."""
        condition, params = AllOf(tuple(where)).clause()
        query = sql.SQL(
            "SELECT count(*) AS n FROM (SELECT 1 FROM {} WHERE tenant = %s AND ({}) LIMIT %s) AS m"
        ).format(self.table_id(), condition)
        return int(self._store().query(query, [tenant, *params, up_to])[0]["n"])

    def _typed(self, row: dict[str, Any]) -> dict[str, Any]:
        row["data"] = self.kind.from_json(row["data"])
        return row

    def _store(self) -> ReadStore:
        if self.store is None:
            raise RuntimeError(f"{self.name}: built without a ReadStore, cannot query")
        return self.store


class PostgresSummaries(Generic[S]):
    """The PostgreSQL read model, caught up before each read (read-your-writes for the API)."""

    def __init__(
        self,
        kind: SummaryKind[S],
        store: ReadStore,
        *,
        schema: str | None = None,
        projection_cls: type[SummaryProjection[Any]] | None = None,
    ) -> None:
        self.kind = kind
        self._projection_cls = projection_cls or SummaryProjection.of(kind)
        self._store = store
        self._schema = schema
        self._caught: CaughtUpProjection[SummaryProjection[Any]] | None = None
        self._lock = threading.Lock()

    def current(self, app: Any) -> SummaryProjection[Any]:
        with self._lock:
            if self._caught is None:
                self._caught = CaughtUpProjection(
                    self._projection_cls, app, self._store, schema=self._schema
                )
        return self._caught.current()

    def page(
        self, app: Any, *, tenant: str, where: Sequence[Condition], order: Order, window: Window
    ) -> Found:
        projection = self.current(app)
        after = key_after(self.kind, order, window)
        rows = projection.select(
            tenant,
            where,
            order=order,
            after=after,
            offset=0 if after is not None else window.offset,
            limit=window.limit + 1,
        )
        counted = projection.count(tenant, where, up_to=COUNT_LIMIT + 1)
        return found_page(rows, order, window, counted)

    def rows(
        self,
        app: Any,
        *,
        tenant: str,
        where: Sequence[Condition],
        order: Order | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        return self.current(app).select(tenant, where, order=order, limit=limit)

    def every(self, app: Any, *, tenant: str) -> list[S]:
        """Every summary of a practice (for checks and tests; no list reads this)."""
        return [r["data"] for r in self.rows(app, tenant=tenant, where=())]

    def rebuild(self, app: Any) -> int:
        """Drop the table and replay every event into it; returns how many were replayed."""
        self.current(app)
        assert self._caught is not None
        return self._caught.runner.rebuild()

    def close(self) -> None:
        self._store.close()
