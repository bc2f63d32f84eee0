"""What a summary read model is asked: filters, an order, a window; answered alike by both variants.

A filter is a tree of small conditions over a summary's typed columns. Each renders itself as
SQL (the PostgreSQL variant) and tests a row of column values in Python (the in-memory variant
and the worklist's reasons), so one definition serves both. SQL's NULL rules hold in Python
too: a comparison with a missing value is false.

Deep pages use keyset cursors: the cursor is the sort key of a page's last row, opaque to the
caller (URL-safe base64 of JSON), so the next page starts by index, not by counting.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from psycopg import sql

from services.common.errors import RuleBroken

Kind = Literal["text", "timestamptz", "integer", "boolean", "date", "text[]"]
Op = Literal["=", "<>", "<", "<=", ">", ">="]
Row = Mapping[str, Any]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Condition(Protocol):
    def clause(self) -> tuple[sql.Composable, list[Any]]: ...

    def test(self, row: Row) -> bool: ...


@dataclass(frozen=True)
class Cmp:
    """`column <op> value` (false when either side is missing)."""

    column: str
    op: Op
    value: Any

    def clause(self) -> tuple[sql.Composable, list[Any]]:
        return sql.SQL("{} {} %s").format(sql.Identifier(self.column), sql.SQL(self.op)), [
            self.value
        ]

    def test(self, row: Row) -> bool:
        have = row.get(self.column)
        return have is not None and self.value is not None and _OPS[self.op](have, self.value)


def eq(column: str, value: Any) -> Cmp:
    return Cmp(column, "=", value)


@dataclass(frozen=True)
class In:
    column: str
    values: tuple[Any, ...]

    def clause(self) -> tuple[sql.Composable, list[Any]]:
        return sql.SQL("{} = ANY(%s)").format(sql.Identifier(self.column)), [list(self.values)]

    def test(self, row: Row) -> bool:
        return row.get(self.column) in self.values


@dataclass(frozen=True)
class Has:
    """A `text[]` column holds `value` (`column @> ARRAY[value]`: a GIN index answers it)."""

    column: str
    value: str

    def clause(self) -> tuple[sql.Composable, list[Any]]:
        return sql.SQL("{} @> ARRAY[%s]::text[]").format(sql.Identifier(self.column)), [self.value]

    def test(self, row: Row) -> bool:
        return self.value in (row.get(self.column) or ())


@dataclass(frozen=True)
class Null:
    """`column IS NULL` (or, with `null=False`, IS NOT NULL)."""

    column: str
    null: bool = True

    def clause(self) -> tuple[sql.Composable, list[Any]]:
        test = sql.SQL("{} IS NULL") if self.null else sql.SQL("{} IS NOT NULL")
        return test.format(sql.Identifier(self.column)), []

    def test(self, row: Row) -> bool:
        return (row.get(self.column) is None) is self.null


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]

    def clause(self) -> tuple[sql.Composable, list[Any]]:
        return _join(self.conditions, " AND ", "TRUE")

    def test(self, row: Row) -> bool:
        return all(c.test(row) for c in self.conditions)


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]

    def clause(self) -> tuple[sql.Composable, list[Any]]:
        return _join(self.conditions, " OR ", "FALSE")

    def test(self, row: Row) -> bool:
        return any(c.test(row) for c in self.conditions)


def all_of(*conditions: Condition) -> AllOf:
    return AllOf(conditions)


def any_of(*conditions: Condition) -> AnyOf:
    return AnyOf(conditions)


def _join(
    conditions: Sequence[Condition], glue: Literal[" AND ", " OR "], empty: Literal["TRUE", "FALSE"]
) -> tuple[sql.Composable, list[Any]]:
    if not conditions:
        return sql.SQL(empty), []
    parts, params = [], []
    for condition in conditions:
        text, values = condition.clause()
        parts.append(sql.SQL("({})").format(text))
        params.extend(values)
    return sql.SQL(glue).join(parts), params


@dataclass(frozen=True)
class Order:
    """Sort columns (none may be NULL), the last one unique (the id); one direction for all."""

    columns: tuple[str, ...]
    descending: bool = False

    def clause(self) -> sql.Composable:
        way = sql.SQL(" DESC" if self.descending else "")
        return sql.SQL(", ").join(
            sql.SQL("{}{}").format(sql.Identifier(c), way) for c in self.columns
        )

    def after(self, key: Sequence[Any]) -> sql.Composable:
        """The keyset condition: rows that sort after `key`."""
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)
        marks = sql.SQL(", ").join(sql.Placeholder() * len(key))
        return sql.SQL("({}) {} ({})").format(
            columns, sql.SQL("<" if self.descending else ">"), marks
        )

    def key(self, row: Row) -> tuple[Any, ...]:
        return tuple(row[c] for c in self.columns)

    def follows(self, row: Row, key: tuple[Any, ...]) -> bool:
        """Whether `row` sorts after `key` (what `after` selects, in Python)."""
        mine = self.key(row)
        return mine < key if self.descending else mine > key


@dataclass(frozen=True)
class Window:
    """Which part of the ordered rows to answer: `limit` rows after `offset` or after a cursor."""

    limit: int = 50
    offset: int = 0
    cursor: str | None = None


# Counting every match costs as much as the practice is large: `total` counts up to here, and
# says it stopped (`total_exact` false) beyond, so a page costs the same at any size.
COUNT_LIMIT = 1000


@dataclass(frozen=True)
class Found:
    """One page: its rows (column values and the summary under `data`), the total, what follows."""

    rows: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    total_exact: bool = True


def encode_cursor(key: Sequence[Any]) -> str:
    values = [v.isoformat() if isinstance(v, dt.date) else v for v in key]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[Kind]) -> tuple[Any, ...]:
    """The sort key in `cursor`, typed as the order's columns; a 422 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong length")
        return tuple(_typed(v, k) for v, k in zip(values, kinds, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise RuleBroken(
            "`cursor` is not one this list gave out",
            errors={"cursor": "use the `next_cursor` of the previous page, unchanged"},
        ) from exc


def _typed(value: Any, kind: Kind) -> Any:
    if kind == "timestamptz" and isinstance(value, str):
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment
    if kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "text" and isinstance(value, str):
        return value
    raise ValueError(f"not a {kind}")
