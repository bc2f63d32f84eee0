"""The window a list route reads (`limit`, `offset` or an opaque `cursor`) and the page it answers.

`offset` keeps shallow pages simple; `cursor` (a page's `next_cursor`) starts the next page by
index however deep it is. Both at once, a cursor this list did not give out, or a limit out of
range are a 422 problem+json.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Query

from services.common.errors import RuleBroken
from services.common.readmodels.query import Found, Window

MAX_LIMIT = 200


async def window_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, description="items to skip (shallow pages)")] = 0,
    cursor: Annotated[
        str | None,
        Query(max_length=512, description="the previous page's `next_cursor` (deep pages)"),
    ] = None,
) -> Window:
    if cursor is not None and offset:
        raise RuleBroken(
            "give `cursor` or `offset`, not both",
            errors={"offset": "leave it out when you follow a `next_cursor`"},
        )
    return Window(limit=limit, offset=offset, cursor=cursor)


WindowParams = Annotated[Window, Depends(window_params)]


def page_body(window: Window, found: Found, items: Sequence[Any] | None = None) -> dict[str, Any]:
    """The answer of a list route: `items`, `total` (`total_exact` false: at least that many),
    `limit`, `offset`, `next_offset` (offset paging only) and `next_cursor`."""
    shown = list(found.rows if items is None else items)
    following = window.offset + len(shown)
    more = found.next_cursor is not None
    return {
        "items": shown,
        "total": found.total,
        "total_exact": found.total_exact,
        "limit": window.limit,
        "offset": window.offset,
        "next_offset": following if more and window.cursor is None else None,
        "next_cursor": found.next_cursor,
    }
