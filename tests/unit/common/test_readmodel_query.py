"""The read-model kit's filters and cursors in Python: SQL's NULL rules, typed cursors, 422s."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.errors import RuleBroken
from services.common.readmodels.query import (
    COUNT_LIMIT,
    Cmp,
    In,
    Null,
    Order,
    Window,
    all_of,
    any_of,
    decode_cursor,
    encode_cursor,
    eq,
)
from services.common.readmodels.summaries import Index, found_page

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_a_comparison_with_a_missing_value_is_false_as_in_sql() -> None:
    assert not Cmp("due", "<", AT).test({"due": None})
    assert not Cmp("due", "<>", AT).test({})
    assert Cmp("due", "<", AT).test({"due": AT - dt.timedelta(seconds=1)})
    assert Null("due").test({"due": None}) and Null("due", null=False).test({"due": AT})


def test_conditions_combine_and_render_with_their_parameters_in_order() -> None:
    condition = all_of(eq("state", "draft"), any_of(In("kind", ("a", "b")), Null("kind")))
    assert condition.test({"state": "draft", "kind": "b"})
    assert not condition.test({"state": "draft", "kind": "c"})
    assert condition.test({"state": "draft", "kind": None})
    assert condition.clause()[1] == ["draft", ["a", "b"]]
    assert all_of().test({}) and not any_of().test({})


def test_a_cursor_carries_the_sort_key_typed_as_its_columns() -> None:
    key = (AT, "id-1")
    assert decode_cursor(encode_cursor(key), ["timestamptz", "text"]) == key
    order = Order(("due", "id"), descending=True)
    assert order.follows({"due": AT, "id": "a"}, key) and not order.follows(
        {"due": AT, "id": "z"}, key
    )


@pytest.mark.parametrize(
    "cursor", ["%%%", encode_cursor(["x"]), encode_cursor(["2026-03-02T09:00:00", "a"]), "e30"]
)
def test_a_cursor_of_another_shape_is_a_422(cursor: str) -> None:
    with pytest.raises(RuleBroken) as refused:
        decode_cursor(cursor, ["timestamptz", "text"])
    assert "cursor" in refused.value.extra["errors"]


def test_every_index_of_a_summary_starts_with_the_tenant() -> None:
    with pytest.raises(ValueError, match="tenant"):
        Index(("due", "tenant"))


def test_a_total_past_the_count_limit_says_it_is_a_lower_bound() -> None:
    rows = [{"due": AT, "id": f"id-{n}"} for n in range(3)]
    order, window = Order(("due", "id")), Window(limit=2)
    capped = found_page(rows, order, window, COUNT_LIMIT + 1)
    assert (capped.total, capped.total_exact) == (COUNT_LIMIT, False)
    assert [r["id"] for r in capped.rows] == ["id-0", "id-1"] and capped.next_cursor
    exact = found_page(rows[:2], order, window, 2)
    assert (exact.total, exact.total_exact, exact.next_cursor) == (2, True, None)
