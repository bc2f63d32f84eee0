"""The plan commands that share one shape: a plan id, a body, If-Match, an ETag back.

No `from __future__ import annotations` here on purpose: each endpoint's annotations must be the
body model and caller dependency given for that route, evaluated when the endpoint is made, so
that FastAPI reads the real classes rather than names it cannot resolve.
"""

from collections.abc import Callable
from enum import Enum
from typing import Any, cast
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel

from services.common.http import IfMatch, set_etag
from services.plan.schemas import CommandResult


def add_plan_command(
    router: APIRouter,
    *,
    method: str,
    path: str,
    body_model: type[BaseModel],
    caller: Any,  # an Annotated[Caller, Depends(allow(...))] alias from access.py
    command: Callable[..., dict[str, Any]],
    summary: str,
    tags: list[str],
    status_code: int = 200,
) -> None:
    """Route `method path` to `command(plan_id, ctx=..., expected_version=..., **body)`."""

    def endpoint(
        plan_id: UUID,
        body: body_model,  # type: ignore[valid-type]
        who: caller,
        if_match: IfMatch,
        response: Response,
    ) -> Any:
        fields = cast(BaseModel, body).model_dump()
        result = command(plan_id, ctx=who.ctx, expected_version=if_match, **fields)
        set_etag(response, result["version"])
        return result

    router.add_api_route(
        path,
        endpoint,
        methods=[method],
        name=command.__name__,
        summary=summary,
        tags=list[str | Enum](tags),
        status_code=status_code,
        response_model=CommandResult,
    )
