"""Values at the edges, swapped into generated cases: extreme dates, large numbers, odd Unicode.

Schemathesis generates input that fits the OpenAPI document (U+0000 included), and its strings
are valid UTF-8 without lone surrogates; the 500s worth finding sit at the edges: a date in year
9999 whose arithmetic overflows, an integer of forty digits, U+0000 or a lone surrogate that a
store cannot hold. A twist replaces one leaf of the case's body or query of the same kind, or
one declared header (If-Match, Idempotency-Key, X-On-Behalf-Of) with a value a header can carry:
5,000 digits, a negative, signed or non-decimal version, a weak or wildcard tag, an empty tag.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hypothesis import strategies as st

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T")
EXTREME_DATES = ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01", "1970-01-01"]
EXTREME_MOMENTS = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999+14:00",
    "9999-12-31T23:59:59",
    "1900-01-01T00:00:00-12:00",
]
EXTREME_INTEGERS = [2**53, -(2**53), 2**63, -(2**63) - 1, 10**40, -(10**40), 0, -1]
EXTREME_FLOATS = [1e308, -1e308, 5e-324, 1e16 + 1, -0.0]
ODD_TEXT = [
    "a\x00b",
    "\x00",
    "a\ud800",
    "\udfff\ud800",
    "\ud83d",
    "\ufeff\u202e\u200b\u00a0",
    "\U0010ffff\ufffe\uffff",
    "e\u0301" * 40,
    "\x01\x1f\x7f\u0085\u2028",
    "\U0001f600" * 30,
]

EXTREME_HEADERS = [
    "9" * 5000,
    f'"{"9" * 5000}"',
    '"-1"',
    '"+1"',
    '"0"',
    'W/"1"',
    "*",
    '"1", "2"',
    '"1e3"',
    '"0x10"',
    "null",
    '""',
]

Twist = tuple[str, Any, int]  # (kind, value, which leaf of that kind)
_WHICH = st.integers(min_value=0, max_value=30)
TWISTS: st.SearchStrategy[Twist | None] = st.one_of(
    st.none(),
    st.tuples(st.just("date"), st.sampled_from(EXTREME_DATES), _WHICH),
    st.tuples(st.just("moment"), st.sampled_from(EXTREME_MOMENTS), _WHICH),
    st.tuples(st.just("int"), st.sampled_from(EXTREME_INTEGERS), _WHICH),
    st.tuples(st.just("float"), st.sampled_from(EXTREME_FLOATS), _WHICH),
    st.tuples(st.just("text"), st.sampled_from(ODD_TEXT), _WHICH),
    st.tuples(st.just("header"), st.sampled_from(EXTREME_HEADERS), _WHICH),
)


def kind_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        if DATE.match(value):
            return "date"
        return "moment" if MOMENT.match(value) else "text"
    return None


def leaves(value: Any, kind: str, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to the leaves of `value` of this kind (numbers count as floats too)."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in leaves(item, kind, (*path, key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in leaves(item, kind, (*path, i))]
    found = kind_of(value)
    return [path] if found == kind or (kind == "float" and found == "int") else []


def twisted(value: Any, twist: Twist) -> tuple[Any, bool]:
    """`value` with one leaf of the twist's kind replaced; and whether one was."""
    kind, replacement, which = twist
    paths = leaves(value, kind)
    if not paths:
        return value, False
    path = paths[which % len(paths)]
    if not path:
        return replacement, True
    value = copy.deepcopy(value)
    holder = value
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = replacement
    return value, True


def apply(case: Any, twist: Twist | None) -> None:
    """Swap one edge value into the case's body, else into its query (in place)."""
    if twist is None:
        return
    if twist[0] == "header":
        declared = sorted(case.headers or {})
        if declared:
            case.headers[declared[twist[2] % len(declared)]] = twist[1]
        return
    if isinstance(case.body, dict | list):
        body, done = twisted(case.body, twist)
        if done:
            # A lone surrogate is sent as a JSON escape, in bytes (schemathesis would re-check
            # a str body with a validator that cannot encode it); other bodies stay as they are.
            case.body = body if _encodable(twist[1]) else json.dumps(body).encode()
            return
    if case.query:
        query, done = twisted(dict(case.query), twist)
        if done and _encodable(twist[1]):  # a lone surrogate cannot travel in a URL
            case.query = query


def _encodable(value: Any) -> bool:
    try:
        str(value).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
