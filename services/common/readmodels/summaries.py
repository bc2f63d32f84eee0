"""One summary per aggregate, folded from its events, with typed and indexed columns.

A service declares a `SummaryKind`: how events fold into its summary (pure), the typed columns
its lists filter and sort on, and their indexes (the tenant first in each, so a practice never
reads another's rows). Two read models answer the same `query.py` questions:
`InMemorySummaries` folds in process (unit tests, stores without PostgreSQL) and
`PostgresSummaries` keeps a table `<schema>.<table>` (id, tenant, the columns, the summary as
JSON) caught up before each read, so a caller sees their own writes. The table's shape (its
columns and indexes) is recorded with the projection's position; when it changes, the table is
dropped and replayed from the event store.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, LiteralString, Protocol, TypeVar

from contracts.naming import event_name
from services.common.readmodels.query import (
    COUNT_LIMIT,
    AllOf,
    Condition,
    Found,
    Kind,
    Order,
    Window,
    decode_cursor,
    encode_cursor,
)
from services.common.readmodels.readmodel import InProcessLog

S = TypeVar("S")
# fold(summaries, event name, aggregate id, version, decoded state): changes `summaries` only
Fold = Callable[[dict[str, S], str, str, int, Mapping[str, Any]], None]


@dataclass(frozen=True)
class Column:
    name: LiteralString
    kind: Kind


@dataclass(frozen=True)
class Index:
    """An index over `columns` (the tenant first), partial when `where` is given.

    `gin` for `text[]` columns (`Has`): a GIN index over the tenant and the arrays, through the
    btree_gin extension (created with the table when a kind has one).
    """

    columns: tuple[LiteralString, ...]
    where: LiteralString | None = None
    method: Literal["btree", "gin"] = field(default="btree", repr=False)

    def __post_init__(self) -> None:
        if self.columns[:1] != ("tenant",):
            raise ValueError(f"an index of a summary starts with the tenant: {self.columns}")


@dataclass(frozen=True)
class SummaryKind(Generic[S]):
    """What a service declares of its summary read model."""

    name: str  # the projection's name, e.g. referral_summaries
    schema: str  # the service whose events it reads; the table lives there too
    table: LiteralString
    topics: tuple[str, ...]  # stored event names to fold
    fold: Fold[S]
    columns: tuple[Column, ...]  # besides id and tenant
    values: Callable[[S], Mapping[str, Any]]  # the columns' values of one summary
    tenant_of: Callable[[S], str]
    to_json: Callable[[S], Mapping[str, Any]]
    from_json: Callable[[Mapping[str, Any]], S]
    indexes: tuple[Index, ...] = ()

    def row(self, summary_id: str, summary: S) -> dict[str, Any]:
        """The summary as a row: id, tenant, the typed columns and the summary under `data`."""
        return {
            "id": summary_id,
            "tenant": self.tenant_of(summary),
            **self.values(summary),
            "data": summary,
        }

    def kinds(self, order: Order) -> list[Kind]:
        typed = {"id": "text", "tenant": "text", **{c.name: c.kind for c in self.columns}}
        return [typed[c] for c in order.columns]

    def shape(self) -> str:
        text = repr((self.table, self.columns, self.indexes))
        gin = [i.columns for i in self.indexes if i.method == "gin"]
        if gin:  # only then: the shapes of kinds without one stay as they were
            text += repr(gin)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class SummaryReadModel(Protocol[S]):
    """Where an application's queries read its summaries (`app`: the application itself)."""

    def page(
        self, app: Any, *, tenant: str, where: Sequence[Condition], order: Order, window: Window
    ) -> Found: ...

    def rows(
        self,
        app: Any,
        *,
        tenant: str,
        where: Sequence[Condition],
        order: Order | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]: ...

    def every(self, app: Any, *, tenant: str) -> list[S]: ...

    def close(self) -> None: ...


def key_after(kind: SummaryKind[Any], order: Order, window: Window) -> tuple[Any, ...] | None:
    return None if window.cursor is None else decode_cursor(window.cursor, kind.kinds(order))


def found_page(rows: list[dict[str, Any]], order: Order, window: Window, total: int) -> Found:
    """The page of `rows` (up to one past the window) with its total, capped at COUNT_LIMIT."""
    more = len(rows) > window.limit
    rows = rows[: window.limit]
    following = encode_cursor(order.key(rows[-1])) if more and rows else None
    return Found(rows, min(total, COUNT_LIMIT), following, total_exact=total <= COUNT_LIMIT)


class InMemorySummaries(Generic[S]):
    """Summaries folded in process from the application's notification log, incrementally."""

    def __init__(self, kind: SummaryKind[S]) -> None:
        self.kind = kind
        self.summaries: dict[str, S] = {}
        self._lock = threading.Lock()
        self.log = InProcessLog(
            lambda topic, aid, version, state: kind.fold(
                self.summaries, event_name(topic), str(aid), version, state
            ),
            topics=kind.topics,
        )

    def _matching(self, app: Any, tenant: str, where: Sequence[Condition]) -> list[dict[str, Any]]:
        self.log.catch_up(app)
        test = AllOf(tuple(where)).test
        with self._lock:
            rows = [self.kind.row(sid, s) for sid, s in self.summaries.items()]
        return [r for r in rows if r["tenant"] == tenant and test(r)]

    def page(
        self, app: Any, *, tenant: str, where: Sequence[Condition], order: Order, window: Window
    ) -> Found:
        rows = sorted(self._matching(app, tenant, where), key=order.key, reverse=order.descending)
        total = len(rows)
        after = key_after(self.kind, order, window)
        if after is not None:
            rows = [
                r
                for r in rows
                if (order.key(r) < after if order.descending else order.key(r) > after)
            ]
        else:
            rows = rows[window.offset :]
        return found_page(rows[: window.limit + 1], order, window, total)

    def rows(
        self,
        app: Any,
        *,
        tenant: str,
        where: Sequence[Condition],
        order: Order | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        rows = self._matching(app, tenant, where)
        if order is not None:
            rows.sort(key=order.key, reverse=order.descending)
        return rows if limit is None else rows[:limit]

    def every(self, app: Any, *, tenant: str) -> list[S]:
        """Every summary of a practice (for checks and tests; no list reads this)."""
        return [r["data"] for r in self._matching(app, tenant, ())]

    def close(self) -> None:
        return None
