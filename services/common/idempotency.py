"""`Idempotency-Key` on POST: a retry returns the first response and records nothing new.

Keys are scoped to (tenant, caller, key) and kept in PostgreSQL (`<schema>.idempotency_keys`),
or in memory for unit tests. A key is claimed before the command runs, so a concurrent retry
gets a 409 rather than a second write; a response of 500 or more releases the key.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import CareLedgerError, Conflict, RuleBroken, Unavailable

HEADER = b"idempotency-key"
PENDING_SECONDS = 60  # a claim older than this (a crashed request) may be taken again
REPLAYED_HEADERS = (b"content-type", b"etag", b"location")


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int | None  # None while the first request is still running
    headers: list[tuple[str, str]]
    body: bytes
    claimed_at: float


class IdempotencyStore(Protocol):
    def claim(self, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
        """Claim the key (None) or return what is already stored under it."""

    def complete(self, scope: str, key: str, status: int, headers: list[tuple[str, str]],
                 body: bytes) -> None: ...  # fmt: skip

    def release(self, scope: str, key: str) -> None: ...


class MemoryIdempotencyStore:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], StoredResponse] = {}
        self._lock = threading.Lock()

    def claim(self, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
        with self._lock:
            row = self._rows.get((scope, key))
            if row is not None and not _expired(row):
                return row
            self._rows[(scope, key)] = StoredResponse(fingerprint, None, [], b"", time.time())
            return None

    def complete(self, scope: str, key: str, status: int, headers: list[tuple[str, str]],
                 body: bytes) -> None:  # fmt: skip
        with self._lock:
            row = self._rows[(scope, key)]
            self._rows[(scope, key)] = StoredResponse(
                row.fingerprint, status, headers, body, row.claimed_at
            )

    def release(self, scope: str, key: str) -> None:
        with self._lock:
            self._rows.pop((scope, key), None)


def _expired(row: StoredResponse) -> bool:
    return row.status is None and time.time() - row.claimed_at > PENDING_SECONDS


def create_table_sql(schema: str) -> sql.Composed:
    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {}.idempotency_keys ("
        " scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL,"
        " status int, headers jsonb NOT NULL DEFAULT '[]', body bytea NOT NULL DEFAULT '',"
        " claimed_at double precision NOT NULL, PRIMARY KEY (scope, key))"
    ).format(sql.Identifier(schema))


class PostgresIdempotencyStore:
    def __init__(self, pool: ConnectionPool[Any], schema: str) -> None:
        self._pool = pool
        self._table = sql.SQL("{}.idempotency_keys").format(sql.Identifier(schema))

    def claim(self, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
        now = time.time()
        with self._pool.connection() as conn:
            claimed = conn.execute(
                sql.SQL(
                    "INSERT INTO {t} (scope, key, fingerprint, claimed_at) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
                    " claimed_at = EXCLUDED.claimed_at"
                    " WHERE {t}.status IS NULL AND {t}.claimed_at < %s RETURNING 1"
                ).format(t=self._table),
                (scope, key, fingerprint, now, now - PENDING_SECONDS),
            ).fetchone()
            if claimed:
                return None
            row = conn.execute(
                sql.SQL(
                    "SELECT fingerprint, status, headers, body, claimed_at FROM {t}"
                    " WHERE scope = %s AND key = %s"
                ).format(t=self._table),
                (scope, key),
            ).fetchone()
        if row is None:  # released between the two statements: claim again
            return self.claim(scope, key, fingerprint)
        headers = [(str(k), str(v)) for k, v in row[2]]
        return StoredResponse(row[0], row[1], headers, bytes(row[3]), row[4])

    def complete(self, scope: str, key: str, status: int, headers: list[tuple[str, str]],
                 body: bytes) -> None:  # fmt: skip
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "UPDATE {t} SET status = %s, headers = %s, body = %s"
                    " WHERE scope = %s AND key = %s"
                ).format(t=self._table),
                (status, json.dumps(headers), body, scope, key),
            )

    def release(self, scope: str, key: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL("DELETE FROM {t} WHERE scope = %s AND key = %s").format(t=self._table),
                (scope, key),
            )


class IdempotencyMiddleware:
    """ASGI middleware that honours `Idempotency-Key` on POST for authenticated callers."""

    def __init__(self, app: ASGIApp, store: IdempotencyStore, verify: Any,
                 on_error: Any) -> None:  # fmt: skip
        self.app = app
        self.store = store
        self.verify = verify  # token -> claims, raises for a bad token
        self.on_error = on_error  # (scope, receive, send, CareLedgerError) -> awaitable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        key_bytes = headers.get(HEADER)
        if scope["type"] != "http" or scope["method"] != "POST" or key_bytes is None:
            await self.app(scope, receive, send)
            return
        try:
            await self._handle(scope, receive, send, key_bytes, headers)
        except CareLedgerError as exc:
            await self.on_error(scope, send, exc)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, key_bytes: bytes,
                      headers: dict[bytes, bytes]) -> None:  # fmt: skip
        key = key_bytes.decode("latin-1").strip()
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise RuleBroken(
                "Idempotency-Key must be 1-255 printable characters (a UUID is a good choice)",
                errors={"Idempotency-Key": "1-255 printable characters"},
            )
        caller = self._caller(headers.get(b"authorization", b""))
        if caller is None:  # unauthenticated: let the endpoint answer 401
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body
        ).hexdigest()
        stored = await self._call(self.store.claim, caller, key, fingerprint)
        if stored is not None:
            await self._replay(stored, fingerprint, send)
            return
        status, out_headers, chunks = await self._run(scope, body, send)
        if status >= 500:
            await self._call(self.store.release, caller, key)
        else:
            await self._call(
                self.store.complete, caller, key, status, out_headers, b"".join(chunks)
            )

    def _caller(self, authorization: bytes) -> str | None:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = self.verify(token)
        except CareLedgerError:
            return None
        return f"{claims['tenant']}/{claims['sub']}"

    async def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except (psycopg.Error, OSError) as exc:
            raise Unavailable("the idempotency store did not answer; retry shortly") from exc

    async def _replay(self, stored: StoredResponse, fingerprint: str, send: Send) -> None:
        if stored.fingerprint != fingerprint:
            raise RuleBroken(
                "this Idempotency-Key was used for a different request: "
                "use a new key for a new request",
                errors={"Idempotency-Key": "already used with another body or path"},
            )
        if stored.status is None:
            raise Conflict("a request with this Idempotency-Key is still running: retry shortly")
        headers = [(k.encode(), v.encode()) for k, v in stored.headers]
        headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        await send({"type": "http.response.body", "body": stored.body})

    async def _run(self, scope: Scope, body: bytes,
                   send: Send) -> tuple[int, list[tuple[str, str]], list[bytes]]:  # fmt: skip
        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        kept: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    if k.lower() in REPLAYED_HEADERS:
                        kept.append((k.decode("latin-1"), v.decode("latin-1")))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay_receive, capture)
        return status, kept, chunks


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def postgres_idempotency(
    database_url: str, schema: str, *, timeout: float = 1.0
) -> PostgresIdempotencyStore:
    """The store a service process uses: its own small pool, keys in `<schema>.idempotency_keys`.

    `timeout` bounds the wait for a connection (psycopg_pool's default is 30 s), so with the
    database down an idempotent POST answers 503 as quickly as the rest.
    """
    pool: ConnectionPool[Any] = ConnectionPool(
        database_url, min_size=1, max_size=4, open=True, timeout=timeout
    )
    return PostgresIdempotencyStore(pool, schema)
