"""The HTTP kit: one problem+json (RFC 9457) handler, ETag/If-Match, pagination, request ids.

`create_service_app` builds a service's FastAPI app around its routers, with the idempotency
middleware, structured request logs, `/health` and `/metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
import psycopg_pool
from eventsourcing.persistence import OperationalError as StoreOperationalError
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.auth.callers import TokenService
from services.common.context import new_id
from services.common.errors import CareLedgerError, RuleBroken
from services.common.fhir import etag
from services.common.http.access import record_refusal
from services.common.http.guard import RequestGuard
from services.common.http.idempotency import (
    IdempotencyMiddleware,
    IdempotencyStore,
    MemoryIdempotencyStore,
)
from services.common.http.openapi import install_openapi
from services.common.http.readiness import readiness
from services.common.logging import get_logger
from services.common.settings import Settings
from services.common.store.deadline import deadline

PROBLEM_JSON = "application/problem+json"
MAX_VERSION_DIGITS = 15  # an aggregate version; int() of a longer number is never a version
log = get_logger("careledger.http")
REQUESTS = Counter("careledger_http_requests_total", "HTTP requests", ["service", "status"])
LATENCY = Histogram("careledger_http_request_seconds", "HTTP request latency", ["service"])
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(status: int, detail: str, title: str | None = None, **extra: Any) -> JSONResponse:
    """A problem+json answer; `retry_after` (seconds) also goes out as a Retry-After header."""
    body = {
        "type": f"https://careledger.example/problems/{status}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    retry = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=retry)


def _field(loc: Sequence[Any]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body",)) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    """Every error, expected or not, leaves as problem+json; bodies are never echoed back."""

    @app.exception_handler(CareLedgerError)
    async def _domain(request: Request, exc: CareLedgerError) -> JSONResponse:
        try:
            await record_refusal(request, exc)  # a refused read is an access event too
        except CareLedgerError as failed:
            return problem(failed.status, failed.detail, failed.title, **failed.extra)
        except (StoreOperationalError, psycopg.OperationalError):
            return problem(503, "the access log could not be written; retry shortly")
        return problem(exc.status, exc.detail, exc.title, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = {_field(e["loc"]): e["msg"] for e in exc.errors()}
        fields = ", ".join(errors)
        return problem(
            422, f"invalid input in: {fields}; fix these fields and retry", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem(exc.status_code, detail)

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(psycopg_pool.PoolTimeout)
    @app.exception_handler(StoreOperationalError)
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database_unavailable", error=type(exc).__name__)
        return problem(503, "the database did not answer; retry shortly", retry_after=5)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", error=type(exc).__name__, exc_info=exc)
        return problem(500, "an unexpected error occurred; it has been logged")


async def parse_if_match(
    if_match: Annotated[str | None, Header(description='The ETag you read, e.g. "3"')] = None,
) -> int | None:
    """The version named by `If-Match` (`"3"` or `W/"3"`), None when absent or `*`."""
    if if_match is None or if_match.strip() == "*":
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_VERSION_DIGITS):
        raise RuleBroken(
            'If-Match must be an ETag from a read, such as "3"',
            errors={"If-Match": 'the ETag of a read, such as "3"'},
        )
    return int(raw)


IfMatch = Annotated[int | None, Depends(parse_if_match)]


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def bearer_token(request: Request) -> str | None:
    """The caller's bearer token, forwarded when a service asks another on the caller's behalf."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int

    def of(self, items: Sequence[Any], total: int) -> dict[str, Any]:
        """A page of an already sliced list: items plus where the next page starts."""
        following = self.offset + len(items)
        return {
            "items": list(items),
            "total": total,
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": following if following < total else None,
        }

    def slice(self, items: Sequence[Any]) -> dict[str, Any]:
        """A page cut from the whole list."""
        return self.of(items[self.offset : self.offset + self.limit], len(items))


async def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, description="items to skip")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageParams = Annotated[Page, Depends(page_params)]


def create_service_app(
    service: str,
    settings: Settings,
    routers: Sequence[APIRouter],
    *,
    description: str,
    idempotency: IdempotencyStore | None = None,
    health: Callable[[], bool] | None = None,
) -> FastAPI:
    """The FastAPI app of one service, built in its composition root."""
    app = FastAPI(
        title=f"careledger {service}",
        description=description,
        version="1.0.0",
    )
    app.state.settings = settings
    app.state.tokens = TokenService(settings, service=service)
    install_problem_handlers(app)
    install_openapi(app)
    for router in routers:
        app.include_router(router)

    @app.get("/health", tags=["ops"], summary="Liveness and database reachability (no auth)")
    def health_check() -> JSONResponse:
        ok = health() if health else True
        return JSONResponse({"status": "ok" if ok else "degraded"}, status_code=200 if ok else 503)

    @app.get("/ready", tags=["ops"], summary="Readiness: PostgreSQL and Kafka answer (no auth)")
    def ready_check() -> JSONResponse:
        checks = readiness(settings)
        ok = all(checks.values())
        body = {"status": "ready" if ok else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics (no auth)")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(
        IdempotencyMiddleware,
        store=idempotency or MemoryIdempotencyStore(settings.idempotency_ttl_seconds),
        verify=app.state.tokens.verify,
        on_error=answer_error,
    )
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes, on_error=answer_error)

    # Added last: the outermost layer. The deadline bounds the event store's retries; the
    # idempotency and read stores make one attempt, waiting at most the connection timeout.
    app.add_middleware(RequestLog, service=service, deadline_s=settings.request_deadline_seconds)
    return app


class RequestLog:
    """Plain ASGI middleware: request and correlation ids in and out, one log line, metrics.

    Ids go into the request state (the auth dependency copies them into the command context
    and adds tenant and actor, which this line then logs). The route pattern is logged, never
    the raw path or query, which could carry identifiers of a person.
    """

    def __init__(self, app: ASGIApp, service: str, deadline_s: float) -> None:
        self.app = app
        self.service = service
        self.deadline_s = deadline_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        state = scope.setdefault("state", {})
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:128] or new_id()
        correlation_id = headers.get(b"x-correlation-id", b"").decode("latin-1")[:128] or new_id()
        state["request_id"], state["correlation_id"] = request_id, correlation_id
        ids = [
            (b"x-request-id", request_id.encode()),
            (b"x-correlation-id", correlation_id.encode()),
        ]
        status = 500
        started = time.perf_counter()

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *ids]
            await send(message)

        try:
            with deadline(self.deadline_s):  # copied into the worker thread that runs the route
                await self.app(scope, receive, send_with_ids)
        finally:
            elapsed = time.perf_counter() - started
            REQUESTS.labels(self.service, str(status)).inc()
            LATENCY.labels(self.service).observe(elapsed)
            route = scope.get("route")
            log.info(
                "request",
                service=self.service,
                method=scope["method"],
                route=str(getattr(route, "path", "unmatched")),
                status=status,
                ms=round(elapsed * 1000, 1),
                request_id=request_id,
                correlation_id=correlation_id,
                tenant=state.get("tenant"),
                actor=state.get("actor"),
            )


async def answer_error(scope: Scope, send: Send, exc: CareLedgerError) -> None:
    """Answer an error met in a middleware, before any route ran, as problem+json."""
    response = problem(exc.status, exc.detail, exc.title, **exc.extra)
    await response(scope, _no_receive, send)


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}
