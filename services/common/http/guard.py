"""Checks on a request before any route runs: body size (413) and text in path, query, headers.

The body is bounded (`CARELEDGER_MAX_BODY_BYTES`, 256 KiB by default) by its Content-Length
when it has one, and by counting what arrives when it is chunked, so a large body is refused
before it is parsed or stored. Path, query and header values go through the kit's text check
(`validation.text_problem`) and are refused with a 422 naming the parameter, since path and
query values reach the stores as ids and filters and some headers (correlation ids,
Idempotency-Key) are stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import CareLedgerError, RuleBroken, TooLarge
from services.common.validation import text_problem

OnError = Callable[[Scope, Send, CareLedgerError], Awaitable[None]]


class RequestGuard:
    """Plain ASGI middleware; `on_error` writes the problem+json answer."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, on_error: OnError) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_target(scope)
            length = content_length(scope)
            if length is not None and length > self.max_body_bytes:
                raise self._too_large(length)
            if length is None and scope["method"] not in ("GET", "HEAD", "DELETE", "OPTIONS"):
                receive = await self._buffered(receive)
        except CareLedgerError as exc:
            await self.on_error(scope, send, exc)
            return
        await self.app(scope, receive, send)

    def _too_large(self, length: int | None) -> TooLarge:
        size = f"{length} bytes" if length is not None else "more"
        return TooLarge(
            f"the request body is {size}; at most {self.max_body_bytes} bytes are accepted: "
            "send less (split a long list over several requests)",
            max_bytes=self.max_body_bytes,
        )

    async def _buffered(self, receive: Receive) -> Receive:
        """A chunked body read here up to the limit, then handed on as one message."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large(None)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        given = False

        async def replay() -> Message:
            nonlocal given
            if given:
                return await receive()  # a disconnect, when the client goes away
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay


def content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                raise RuleBroken(
                    "Content-Length must be a number of bytes",
                    errors={"Content-Length": "a decimal number"},
                ) from None
    return None


def check_target(scope: Scope) -> None:
    """422 naming the first path segment, query parameter or header the stores cannot hold."""
    errors: dict[str, str] = {}
    for segment in str(scope.get("path", "")).split("/"):
        if why := text_problem(segment):
            errors["path"] = f"a path segment {why}"
            break
    query: Any = scope.get("query_string", b"")
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if why := text_problem(name):
            errors["query"] = f"a parameter name {why}"
            break
        if why := text_problem(value):
            errors[f"query.{name}"] = why
            break
    for name, value in scope.get("headers") or ():
        if b"\x00" in value:
            errors[name.decode("latin-1")] = "holds U+0000 (NUL), which the stores cannot hold"
            break
    if errors:
        raise RuleBroken(
            f"invalid input in: {', '.join(errors)}; fix these and retry", errors=errors
        )
