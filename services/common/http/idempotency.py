"""`Idempotency-Key` on POST: a retry returns the first answer and records nothing new.

A key belongs to one caller: tenant, subject and key are separate columns of
`<schema>.idempotency` (in memory for unit tests), so no two callers can share one. The key is
claimed before the command runs; a duplicate that arrives while the first still runs answers
409 with `Retry-After`, never a second write. The fingerprint hashes the method, path, query,
`If-Match` and body: the same key with another request is a 422. Only a success (below 400) is
kept, for `CARELEDGER_IDEMPOTENCY_TTL_SECONDS` (24 h); any failure (an error answer, an
exception, a client gone away) releases the key, so a retry runs the command again: a refused or
failed command wrote nothing. Stored answers may hold PHI, so expired ones are purged: each
process deletes them at most once a minute, as it claims keys.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import CareLedgerError, Conflict, RuleBroken, Unavailable
from services.common.settings import Settings
from services.common.store.pool import connection_pool, live_connection

HEADER = b"idempotency-key"
PENDING_SECONDS = 60  # a claim older than this (a crashed process) may be taken again
DEFAULT_TTL_SECONDS = 24 * 3600
PURGE_INTERVAL_SECONDS = 60
RETRY_AFTER_SECONDS = 1
REPLAYED_HEADERS = (b"content-type", b"etag", b"location")


@dataclass(frozen=True)
class Owner:
    """Whose key it is: the practice and the caller within it, never joined into one string."""

    tenant: str
    subject: str


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int | None  # None while the first request is still running
    headers: list[tuple[str, str]]
    body: bytes


class IdempotencyStore(Protocol):
    def claim(self, owner: Owner, key: str, fingerprint: str) -> str | StoredResponse:
        """Claim the key (returns the claim's id) or return what is stored under it."""

    def complete(
        self, claim: str, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> None: ...

    def release(self, claim: str) -> None: ...


@dataclass
class _Row:
    owner: Owner
    key: str
    claim: str
    response: StoredResponse
    expires_at: float


class MemoryIdempotencyStore:
    def __init__(self, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._rows: dict[tuple[Owner, str], _Row] = {}
        self._claims: dict[str, tuple[Owner, str]] = {}
        self._lock = threading.Lock()

    def claim(self, owner: Owner, key: str, fingerprint: str) -> str | StoredResponse:
        now = time.time()
        with self._lock:
            for where in [w for w, r in self._rows.items() if r.expires_at <= now]:  # purge
                self._drop(where)
            held = self._rows.get((owner, key))
            if held is not None:
                return held.response
            claim = str(uuid.uuid4())
            pending = StoredResponse(fingerprint, None, [], b"")
            self._rows[(owner, key)] = _Row(owner, key, claim, pending, now + PENDING_SECONDS)
            self._claims[claim] = (owner, key)
            return claim

    def complete(
        self, claim: str, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        with self._lock:
            row = self._rows.get(self._claims.get(claim, (Owner("", ""), "")))
            if row is not None and row.claim == claim:
                row.response = StoredResponse(row.response.fingerprint, status, headers, body)
                row.expires_at = time.time() + self.ttl_seconds

    def release(self, claim: str) -> None:
        with self._lock:
            where = self._claims.get(claim)
            if where is not None and self._rows[where].response.status is None:
                self._drop(where)

    def _drop(self, where: tuple[Owner, str]) -> None:
        row = self._rows.pop(where)
        self._claims.pop(row.claim, None)


def create_table_sql(schema: str) -> sql.Composed:
    """The keys table (the former `idempotency_keys`, scoped by one joined string, is dropped)."""
    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {s}.idempotency ("
        " tenant text NOT NULL, subject text NOT NULL, key text NOT NULL,"
        " claim uuid NOT NULL, fingerprint text NOT NULL, status int,"
        " headers jsonb NOT NULL DEFAULT '[]', body bytea NOT NULL DEFAULT '',"
        " expires_at timestamptz NOT NULL, PRIMARY KEY (tenant, subject, key));"
        " CREATE INDEX IF NOT EXISTS idempotency_expiry ON {s}.idempotency (expires_at);"
        " DROP TABLE IF EXISTS {s}.idempotency_keys"
    ).format(s=sql.Identifier(schema))


class PostgresIdempotencyStore:
    def __init__(
        self, pool: ConnectionPool[Any], schema: str, *, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> None:
        self._pool = pool
        self._table = sql.SQL("{}.idempotency").format(sql.Identifier(schema))
        self.ttl_seconds = ttl_seconds
        self._purged_at = 0.0

    def claim(self, owner: Owner, key: str, fingerprint: str) -> str | StoredResponse:
        claim = str(uuid.uuid4())
        with live_connection(self._pool) as conn:
            self._purge(conn)
            for _ in range(3):  # a row released between the two statements: claim again
                taken = conn.execute(
                    sql.SQL(
                        "INSERT INTO {t} (tenant, subject, key, claim, fingerprint, expires_at)"
                        " VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))"
                        " ON CONFLICT (tenant, subject, key) DO UPDATE SET claim = EXCLUDED.claim,"
                        " fingerprint = EXCLUDED.fingerprint, status = NULL, headers = '[]',"
                        " body = '', expires_at = EXCLUDED.expires_at"
                        " WHERE {t}.expires_at <= now() RETURNING 1"
                    ).format(t=self._table),
                    (owner.tenant, owner.subject, key, claim, fingerprint, PENDING_SECONDS),
                ).fetchone()
                if taken:
                    return claim
                row = conn.execute(
                    sql.SQL(
                        "SELECT fingerprint, status, headers, body FROM {t}"
                        " WHERE tenant = %s AND subject = %s AND key = %s"
                    ).format(t=self._table),
                    (owner.tenant, owner.subject, key),
                ).fetchone()
                if row is not None:
                    headers = [(str(k), str(v)) for k, v in row[2]]
                    return StoredResponse(row[0], row[1], headers, bytes(row[3]))
        raise Unavailable("the idempotency store changed under three claims; retry shortly")

    def complete(
        self, claim: str, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        with live_connection(self._pool) as conn:
            conn.execute(
                sql.SQL(
                    "UPDATE {t} SET status = %s, headers = %s, body = %s,"
                    " expires_at = now() + make_interval(secs => %s) WHERE claim = %s"
                ).format(t=self._table),
                (status, json.dumps(headers), body, self.ttl_seconds, claim),
            )

    def release(self, claim: str) -> None:
        with live_connection(self._pool) as conn:
            conn.execute(
                sql.SQL("DELETE FROM {t} WHERE claim = %s AND status IS NULL").format(
                    t=self._table
                ),
                (claim,),
            )

    def purge(self) -> int:
        """Delete every expired answer and abandoned claim now; returns how many."""
        with live_connection(self._pool) as conn:
            return self._purge(conn, force=True)

    def _purge(self, conn: psycopg.Connection[Any], *, force: bool = False) -> int:
        now = time.monotonic()
        if not force and now - self._purged_at < PURGE_INTERVAL_SECONDS:
            return 0
        self._purged_at = now
        deleted = conn.execute(
            sql.SQL("DELETE FROM {t} WHERE expires_at <= now()").format(t=self._table)
        )
        return deleted.rowcount


def fingerprint_of(scope: Scope, if_match: bytes, body: bytes) -> str:
    """A hash of what makes two requests the same: method, path, query, If-Match and body."""
    framing = json.dumps(
        [
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            if_match.decode("latin-1"),
        ]
    )
    return hashlib.sha256(framing.encode() + b"\n" + body).hexdigest()


class IdempotencyMiddleware:
    """ASGI middleware that honours `Idempotency-Key` on POST for authenticated callers."""

    def __init__(self, app: ASGIApp, store: IdempotencyStore, verify: Any, on_error: Any) -> None:
        self.app = app
        self.store = store
        self.verify = verify  # token -> claims, raises for a bad token
        self.on_error = on_error  # (scope, send, CareLedgerError) -> awaitable

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

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key_bytes: bytes,
        headers: dict[bytes, bytes],
    ) -> None:
        key = key_bytes.decode("latin-1").strip()
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise RuleBroken(
                "Idempotency-Key must be 1-255 printable characters (a UUID is a good choice)",
                errors={"Idempotency-Key": "1-255 printable characters"},
            )
        owner = self._owner(headers.get(b"authorization", b""))
        if owner is None:  # unauthenticated: let the endpoint answer 401
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        fingerprint = fingerprint_of(scope, headers.get(b"if-match", b""), body)
        claimed = await self._call(self.store.claim, owner, key, fingerprint)
        if isinstance(claimed, StoredResponse):
            await self._replay(claimed, fingerprint, send)
            return
        try:
            status, out_headers, chunks = await self._run(scope, body, send)
        except BaseException:
            with anyio.CancelScope(shield=True):  # a client gone away cancels the request
                await self._call(self.store.release, claimed)
            raise
        if status < 400:
            await self._call(self.store.complete, claimed, status, out_headers, b"".join(chunks))
        else:
            await self._call(self.store.release, claimed)

    def _owner(self, authorization: bytes) -> Owner | None:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = self.verify(token)
        except CareLedgerError:
            return None
        return Owner(str(claims["tenant"]), str(claims["sub"]))

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
                errors={"Idempotency-Key": "already used with another body, path or If-Match"},
            )
        if stored.status is None:
            raise Conflict(
                "a request with this Idempotency-Key is still running: retry shortly",
                retry_after=RETRY_AFTER_SECONDS,
            )
        headers = [(k.encode(), v.encode()) for k, v in stored.headers]
        headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        await send({"type": "http.response.body", "body": stored.body})

    async def _run(
        self, scope: Scope, body: bytes, send: Send
    ) -> tuple[int, list[tuple[str, str]], list[bytes]]:
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


def postgres_idempotency(settings: Settings, schema: str) -> PostgresIdempotencyStore:
    """The store a service process uses: its own small pool, keys in `<schema>.idempotency`.

    The wait for a connection is the connection timeout (psycopg_pool's default is 30 s), so
    with the database down an idempotent POST answers 503 as quickly as the rest.
    """
    pool = connection_pool(settings.database_url, timeout=settings.db_connect_timeout_seconds)
    return PostgresIdempotencyStore(pool, schema, ttl_seconds=settings.idempotency_ttl_seconds)
