"""Projections on the real PostgreSQL: incremental and rebuilt read models come out identical."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from services.common.context import CommandContext
from services.common.events import name_events
from services.common.readmodels.projection import (
    Cursor,
    ProjectedEvent,
    Projection,
    ProjectionRunner,
    ReadStore,
)
from services.common.readmodels.projection_runs import rebuild, retry, run_projections
from services.common.settings import Settings
from services.common.store.application import CareApplication, build_application

pytestmark = pytest.mark.integration
CTX = CommandContext(actor_id="u1", actor_role="coordinator", tenant="practice-1")


class Case(Aggregate):
    @event("CaseOpened")
    def __init__(self, tenant: str, kind: str) -> None:
        self.tenant = tenant
        self.kind = kind
        self.status = "open"

    @event("CaseMoved")
    def move(self, status: str) -> None:
        self.status = status


name_events("cproj", Case)


class CaseBoard(Projection):
    """One row per case and a count per status: order matters, so replays must be exact."""

    name = "case_board"
    tables = ("case_board", "case_counts")
    create_sql = (
        "CREATE TABLE IF NOT EXISTS {schema}.case_board (id uuid PRIMARY KEY, tenant text, "
        "kind text, status text, version int, opened_at timestamptz, moved_at timestamptz)",
        "CREATE TABLE IF NOT EXISTS {schema}.case_counts (tenant text, status text, "
        "n int NOT NULL, PRIMARY KEY (tenant, status))",
    )

    def process(self, cursor: Cursor, event: ProjectedEvent) -> None:
        at = event.state["timestamp"]
        if event.name == "CaseOpened":
            cursor.execute(
                self.sql(
                    "INSERT INTO {schema}.case_board VALUES (%s, %s, %s, 'open', %s, %s, NULL)"
                ),
                (event.aggregate_id, event.tenant, event.state["kind"], event.version, at),
            )
            self._count(cursor, event.tenant, "open", +1)
            return
        cursor.execute(
            self.sql("SELECT status FROM {schema}.case_board WHERE id = %s"), (event.aggregate_id,)
        )
        row = cursor.fetchone()
        assert row is not None
        self._count(cursor, event.tenant, row["status"], -1)
        self._count(cursor, event.tenant, event.state["status"], +1)
        cursor.execute(
            self.sql(
                "UPDATE {schema}.case_board SET status = %s, version = %s, "
                "moved_at = %s WHERE id = %s"
            ),
            (event.state["status"], event.version, at, event.aggregate_id),
        )

    def _count(self, cursor: Cursor, tenant: str, status: str, delta: int) -> None:
        cursor.execute(
            self.sql(
                "INSERT INTO {schema}.case_counts VALUES (%s, %s, %s) "
                "ON CONFLICT (tenant, status) DO UPDATE "
                "SET n = case_counts.n + EXCLUDED.n"
            ),
            (tenant, status, delta),
        )


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    name = f"cproj_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(env="dev", database_url=database_url)


@pytest.fixture
def app(schema: str, settings: Settings) -> Iterator[CareApplication]:
    cls = type(f"CaseApp_{schema}", (CareApplication,), {"name": schema})
    application: CareApplication = build_application(cls, settings, create_table=True)
    yield application
    application.close()


@pytest.fixture
def store(settings: Settings) -> Iterator[ReadStore]:
    read_store = ReadStore.from_settings(settings)
    yield read_store
    read_store.close()


def board_class(schema: str) -> type[CaseBoard]:
    return type("CaseBoardUnderTest", (CaseBoard,), {"schema": schema})


def write_cases(app: CareApplication, rng: random.Random, cases: list[Case], n: int) -> None:
    for _ in range(n):
        if not cases or rng.random() < 0.3:
            cases.append(Case(tenant=f"practice-{rng.randint(1, 3)}", kind=rng.choice("ABC")))
            app.save_as(CTX, cases[-1])
        else:
            case = rng.choice(cases)
            case.move(status=rng.choice(["active", "waiting", "closed", "open"]))
            app.save_as(CTX, case)


def snapshot(board: Projection) -> dict[str, list[dict[str, Any]]]:
    return {
        "board": board.query("SELECT * FROM {schema}.case_board ORDER BY id"),
        "counts": board.query("SELECT * FROM {schema}.case_counts ORDER BY tenant, status"),
    }


def test_a_rebuilt_read_model_equals_the_one_built_incrementally(
    app: CareApplication, store: ReadStore, settings: Settings, schema: str
) -> None:
    board_cls = board_class(schema)
    runner = ProjectionRunner(board_cls(store), app, store, batch_size=7)
    runner.ensure_tables()
    rng, cases = random.Random(8), list[Case]()
    for _ in range(12):
        write_cases(app, rng, cases, rng.randint(5, 40))
        runner.run_once()  # lag behind on purpose, one small batch at a time
    runner.catch_up()
    incremental = snapshot(board_cls(store))
    assert runner.position() == app.recorder.max_notification_id()

    replayed = rebuild("case_board", settings, candidates=[board_cls])

    assert replayed == app.recorder.max_notification_id()
    assert snapshot(board_cls(store)) == incremental
    assert len(incremental["board"]) == len(cases)


def test_a_rebuild_repairs_a_read_model_that_was_tampered_with(
    app: CareApplication, store: ReadStore, settings: Settings, schema: str
) -> None:
    board = board_class(schema)(store)
    runner = ProjectionRunner(board, app, store)
    runner.ensure_tables()
    write_cases(app, random.Random(3), [], 60)
    runner.catch_up()
    expected = snapshot(board)
    with store.transaction() as cur:
        cur.execute(board.sql("DELETE FROM {schema}.case_board WHERE kind = 'A'"))
        cur.execute(board.sql("UPDATE {schema}.case_counts SET n = n + 100"))
    assert snapshot(board) != expected

    rebuild("case_board", settings, candidates=[type(board)])

    assert snapshot(board) == expected


def test_two_runners_of_one_projection_never_apply_an_event_twice(
    app: CareApplication, store: ReadStore, schema: str
) -> None:
    board_cls = board_class(schema)
    reference = ProjectionRunner(board_cls(store), app, store)
    reference.ensure_tables()
    write_cases(app, random.Random(5), [], 300)

    def run() -> None:
        ProjectionRunner(board_cls(store), app, store, batch_size=5).catch_up()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent = snapshot(board_cls(store))
    reference.rebuild()
    assert snapshot(board_cls(store)) == concurrent


def test_run_projections_keeps_a_read_model_up_to_date_even_through_a_rebuild(
    app: CareApplication, store: ReadStore, settings: Settings, schema: str
) -> None:
    board_cls = board_class(schema)
    rng, cases = random.Random(11), list[Case]()
    write_cases(app, rng, cases, 50)
    stop = threading.Event()
    runner = threading.Thread(
        target=run_projections,
        args=(schema, [board_cls], settings),
        kwargs={"poll_interval_s": 0.05, "until": stop.is_set},
    )
    runner.start()
    probe = ProjectionRunner(board_cls(store), app, store)
    try:
        for round_number in range(3):
            write_cases(app, rng, cases, 40)
            if round_number == 1:  # a rebuild while the runner runs: they take turns
                rebuild("case_board", settings, candidates=[board_cls])
            deadline = time.monotonic() + 30
            while probe.position() != app.recorder.max_notification_id():
                assert time.monotonic() < deadline, "the runner did not catch up"
                time.sleep(0.05)
    finally:
        stop.set()
        runner.join(timeout=30)
    live = snapshot(board_cls(store))
    probe.rebuild()
    assert snapshot(board_cls(store)) == live
    assert len(live["board"]) == len(cases)


def wait_until_row_is_locked(store: ReadStore, schema: str, name: str) -> None:
    query = sql.SQL("SELECT 1 FROM {} WHERE name = %s FOR UPDATE NOWAIT").format(
        sql.Identifier(schema, "projection_tracking")
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with store.transaction() as cur:
                cur.execute(query, (name,))
        except psycopg.errors.LockNotAvailable:
            return
        time.sleep(0.02)
    raise AssertionError(f"nothing locked the tracking row of {name}")


def test_a_runner_that_waits_for_a_rebuild_continues_from_the_reset_position(
    app: CareApplication, store: ReadStore, schema: str
) -> None:
    slow_cls = type(
        "SlowCaseBoard",
        (CaseBoard,),
        {"schema": schema, "create_sql": (*CaseBoard.create_sql, "SELECT pg_sleep(1)")},
    )
    runner = ProjectionRunner(slow_cls(store), app, store)
    runner.ensure_tables()
    write_cases(app, random.Random(2), [], 80)
    runner.catch_up()
    expected = snapshot(slow_cls(store))
    rebuilding = threading.Thread(target=ProjectionRunner(slow_cls(store), app, store).rebuild)
    rebuilding.start()
    wait_until_row_is_locked(store, schema, "case_board")  # the rebuild sleeps in its DDL

    runner.catch_up()  # waits for the rebuild's reset, then takes turns with its replay

    rebuilding.join()
    assert snapshot(slow_cls(store)) == expected
    assert runner.position() == app.recorder.max_notification_id()


class StrippingBoard(CaseBoard):
    """The fix: kinds are stored without the NUL that PostgreSQL text cannot hold."""

    def process(self, cursor: Cursor, event: ProjectedEvent) -> None:
        if "kind" in event.state:
            state = {**event.state, "kind": str(event.state["kind"]).replace("\x00", "")}
            event = ProjectedEvent(
                event.position, event.aggregate_id, event.version, event.stored_name, state
            )
        super().process(cursor, event)


def test_poison_in_the_store_is_quarantined_and_applied_in_order_after_a_fix(
    app: CareApplication, store: ReadStore, settings: Settings, schema: str
) -> None:
    from tests.integration.support_poison import plant, stored_state

    board_cls = board_class(schema)
    runner = ProjectionRunner(board_cls(store), app, store)
    runner.ensure_tables()
    write_cases(app, random.Random(11), [], 20)
    poisoned = uuid.uuid4()  # a kind with NUL: the read model's text column refuses it
    opened = plant(
        settings.database_url,
        schema,
        topic="careledger.cproj.CaseOpened",
        aggregate=poisoned,
        state=stored_state(
            originator_topic="careledger.cproj.Case", tenant="practice-1", kind="A\x00B"
        ),
    )
    moved = plant(
        settings.database_url,
        schema,
        topic="careledger.cproj.CaseMoved",
        aggregate=poisoned,
        version=2,
        state=stored_state(status="closed"),
    )
    garbled = plant(
        settings.database_url, schema, topic="careledger.cproj.CaseMoved", state=b"\xff not json"
    )
    write_cases(app, random.Random(12), [], 20)

    runner.catch_up()  # never stops: the rest is applied
    assert runner.position() == app.recorder.max_notification_id()
    board = snapshot(board_cls(store))["board"]
    assert poisoned not in {row["id"] for row in board}
    held = quarantine_rows(settings, schema)
    assert [(r["position"], r["held_behind"]) for r in held] == [
        (opened, None),
        (moved, opened),
        (garbled, None),
    ]
    assert "CharacterNotInRepertoire" in held[0]["reason"] or "NUL" in held[0]["reason"]
    status = status_of_read_models(settings, schema)
    assert [len(s["quarantined"]) for s in status] == [3]

    fixed = type("FixedBoard", (StrippingBoard,), {"schema": schema})
    applied, still = retry("case_board", settings, candidates=[fixed])
    assert (applied, still) == (2, 1)  # the poisoned case, opened then moved; not the garbled
    row = next(r for r in snapshot(fixed(store))["board"] if r["id"] == poisoned)
    assert (row["kind"], row["status"], row["version"]) == ("AB", "closed", 2)
    assert [r["position"] for r in quarantine_rows(settings, schema)] == [garbled]


def quarantine_rows(settings: Settings, schema: str) -> list[dict[str, Any]]:
    from services.common.quarantine import listing

    return listing(settings.database_url, schema, "projection:case_board")


def status_of_read_models(settings: Settings, schema: str) -> list[dict[str, Any]]:
    from services.common.readmodels.projection_runs import status

    return status(schema, settings, candidates=[board_class(schema)])
