"""The service kit against the real PostgreSQL: group commit, metadata, idempotency keys."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg_pool import ConnectionPool

from services.common.auth.callers import TokenService
from services.common.context import CommandContext
from services.common.errors import Conflict
from services.common.http.app import create_service_app
from services.common.http.idempotency import PostgresIdempotencyStore, create_table_sql
from services.common.settings import Settings
from services.common.store.application import build_application
from tests.unit.common.support_kit import KitApplication, Note

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS kit")
        conn.execute(create_table_sql("kit"))
    return Settings(env="dev", database_url=database_url)


@pytest.fixture(scope="module")
def app(settings: Settings) -> KitApplication:
    return build_application(KitApplication, settings, create_table=True)  # type: ignore[no-any-return]


def ctx(actor: str) -> CommandContext:
    return CommandContext(actor_id=actor, actor_role="clinician", tenant="practice-a")


def test_concurrent_commands_on_postgres_all_commit_with_their_own_metadata(
    app: KitApplication,
) -> None:
    notes = [Note(tenant="practice-a", client_id=f"c{i}", text="t") for i in range(64)]
    threads = [
        threading.Thread(target=app.save_as, args=(ctx(f"actor-{i}"), n))
        for i, n in enumerate(notes)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, note in enumerate(notes):
        [record] = app.history_records(note.id)
        assert record["meta"]["actor_id"] == f"actor-{i}"


def test_concurrent_edits_of_one_aggregate_on_postgres_have_exactly_one_winner(
    app: KitApplication,
) -> None:
    note = Note(tenant="practice-a", client_id="c", text="t")
    app.save_as(ctx("a"), note)
    copies = [app.load(Note, note.id, "practice-a") for _ in range(8)]
    outcomes: list[str] = []

    def edit(i: int) -> None:
        copies[i].amend(text=f"v{i}")
        try:
            app.save_as(ctx(f"editor-{i}"), copies[i])
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1
    assert outcomes.count("conflict") == 7
    assert app.load(Note, note.id, "practice-a").version == 2


def test_idempotency_keys_kept_in_postgres_survive_a_new_process(
    app: KitApplication, settings: Settings
) -> None:
    from fastapi import APIRouter, Depends

    from services.common.auth.callers import Caller, Role, allow

    def build_api(pool: ConnectionPool) -> TestClient:  # type: ignore[type-arg]
        router = APIRouter()

        @router.post("/notes", status_code=201)
        def open_note(caller: Caller = Depends(allow(Role.CLINICIAN))) -> dict[str, str]:
            note = Note(tenant=caller.tenant, client_id="c", text="t")
            app.save_as(caller.ctx, note)
            return {"id": str(note.id)}

        store = PostgresIdempotencyStore(pool, "kit")
        api = create_service_app("kit", settings, [router], description="t", idempotency=store)
        return TestClient(api)

    token = TokenService(settings).mint("u", "practice-a", ["clinician"])
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    with ConnectionPool(settings.database_url, min_size=1, max_size=2, open=True) as pool:
        first = build_api(pool).post("/notes", headers=headers)
    with ConnectionPool(settings.database_url, min_size=1, max_size=2, open=True) as pool:
        again = build_api(pool).post("/notes", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


def test_a_change_saved_by_another_process_is_in_the_next_cached_load(
    app: KitApplication, settings: Settings
) -> None:
    # Two applications on one store, as a service's API and its consumer are: each caches.
    other: KitApplication = build_application(KitApplication, settings)
    try:
        note = Note(tenant="practice-a", client_id="c-cache", text="v1")
        app.save_as(ctx("api"), note)
        assert app.repository.get(note.id).text == "v1"  # now cached in `app`
        theirs = other.repository.get(note.id)
        theirs.amend(text="v2 from the consumer")
        other.save_as(ctx("consumer"), theirs)
        mine = app.repository.get(note.id)
        assert (mine.version, mine.text) == (2, "v2 from the consumer")
        mine.amend(text="v3")
        app.save_as(ctx("api"), mine)
        stale = other.repository.get(note.id)
        assert (stale.version, stale.text) == (3, "v3")
    finally:
        other.close()


def test_idempotency_keys_are_scoped_by_columns_expire_and_are_purged(settings: Settings) -> None:
    from services.common.http.idempotency import Owner, StoredResponse

    with ConnectionPool(settings.database_url, min_size=1, max_size=2, open=True) as pool:
        store = PostgresIdempotencyStore(pool, "kit", ttl_seconds=1)
        key = str(uuid.uuid4())
        lookalikes = (Owner("a", "b/c"), Owner("a/b", "c"))
        claims = [store.claim(owner, key, "f") for owner in lookalikes]
        assert all(isinstance(c, str) for c in claims)  # two keys, not one
        assert isinstance(store.claim(lookalikes[0], key, "f"), StoredResponse)  # in flight
        store.complete(str(claims[0]), 201, [("etag", '"1"')], b"{}")
        store.release(str(claims[1]))
        replay = store.claim(lookalikes[0], key, "f")
        assert isinstance(replay, StoredResponse) and replay.status == 201
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE kit.idempotency SET expires_at = now() - interval '1 second'"
                " WHERE key = %s",
                (key,),
            )
            assert store.purge() >= 1
            left = conn.execute("SELECT count(*) FROM kit.idempotency WHERE key = %s", (key,))
            assert left.fetchone() == (0,)
        assert isinstance(store.claim(lookalikes[0], key, "f"), str)  # a new request now


def test_db_init_replaces_the_joined_scope_table_with_the_column_scoped_one(
    settings: Settings,
) -> None:
    schema = f"idem_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        try:
            conn.execute(  # the table as the former create_table_sql made it, one answer in it
                f"CREATE TABLE {schema}.idempotency_keys (scope text NOT NULL, key text NOT NULL,"
                " fingerprint text NOT NULL, status int, headers jsonb NOT NULL DEFAULT '[]',"
                " body bytea NOT NULL DEFAULT '', claimed_at double precision NOT NULL,"
                " PRIMARY KEY (scope, key))"
            )
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.idempotency_keys VALUES ('a/b/c', 'k', 'f', 201, '[]', '', 0)"
                ).format(sql.Identifier(schema))
            )
            for _ in range(2):  # db init runs again and again
                conn.execute(create_table_sql(schema))
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
            assert tables == [("idempotency",)]
            columns = conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                " AND table_name = 'idempotency'",
                (schema,),
            ).fetchall()
            assert {"tenant", "subject", "key", "expires_at"} <= {c for (c,) in columns}
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
