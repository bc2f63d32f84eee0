"""The store's hash chain against the real PostgreSQL, tampered with as someone with write
access to the database would: each change is found and named by position and aggregate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from contracts.chain import chain_hash
from services.common.context import CommandContext
from services.common.settings import Settings
from services.common.store.application import CareApplication, build_application
from services.common.store.chain import Finding, install_chain, verify_chain
from tests.unit.common.support_kit import Note

pytestmark = pytest.mark.integration
SCHEMA, TABLE = "ledgertest", "ledgertest_events"
T = psycopg.sql.Identifier(SCHEMA, TABLE)


class LedgerTestApplication(CareApplication):
    name = "ledgertest"


def ctx() -> CommandContext:
    return CommandContext(actor_id="clinician-1", actor_role="clinician", tenant="practice-a")


@pytest.fixture(scope="module")
def store(database_url: str) -> Iterator[tuple[LedgerTestApplication, list[Note]]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
    settings = Settings(env="dev", database_url=database_url)
    app: LedgerTestApplication = build_application(
        LedgerTestApplication, settings, create_table=True
    )
    early = Note(tenant="practice-a", client_id="c0", text="stored before the chain")
    app.save_as(ctx(), early)
    with psycopg.connect(database_url, autocommit=True) as conn:
        install_chain(conn, SCHEMA, TABLE)
        install_chain(conn, SCHEMA, TABLE)  # idempotent, as `db init` run twice
    notes = [early]
    for i in range(1, 4):
        note = Note(tenant="practice-a", client_id=f"c{i}", text="first")
        note.amend(text="second")
        app.save_as(ctx(), note)
        note.amend(text="third")
        app.save_as(ctx(), note)
        notes.append(note)
    yield app, notes
    app.close()


@pytest.fixture
def conn(database_url: str, store: Any) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose tampering is rolled back after the test."""
    with psycopg.connect(database_url) as connection:
        yield connection
        connection.rollback()


def rows(conn: psycopg.Connection[Any], note: Note) -> list[tuple[Any, ...]]:
    query = psycopg.sql.SQL(
        "SELECT notification_id, originator_version, topic, state, chain_hash FROM {} "
        "WHERE originator_id = %s ORDER BY originator_version"
    ).format(T)
    return conn.execute(query, (note.id,)).fetchall()


def swap_positions(conn: psycopg.Connection[Any], one: int, other: int) -> None:
    """Exchange two rows' notification ids (the unique index allows no direct swap)."""
    move = psycopg.sql.SQL("UPDATE {} SET notification_id = %s WHERE notification_id = %s")
    for new, old in ((-1, one), (one, other), (other, -1)):
        conn.execute(move.format(T), (new, old))


def found(conn: psycopg.Connection[Any]) -> list[Finding]:
    return verify_chain(conn, SCHEMA, TABLE)[1]


def test_an_untouched_store_verifies_clean_with_rows_from_before_the_chain(
    conn: psycopg.Connection[Any], store: Any
) -> None:
    _, notes = store
    count, findings = verify_chain(conn, SCHEMA, TABLE)
    assert (count, findings) == (10, [])
    (early,) = rows(conn, notes[0])
    assert early[4] is not None, "a row stored before the chain was chained by install_chain"


def test_the_database_computes_the_hash_contracts_chain_defines(
    conn: psycopg.Connection[Any], store: Any
) -> None:
    note = store[1][1]
    previous = None
    for position, version, topic, state, stored in rows(conn, note):
        expected = chain_hash(
            previous,
            notification_id=position,
            originator_id=note.id,
            originator_version=version,
            topic=topic,
            state=bytes(state),
        )
        assert bytes(stored) == expected
        previous = expected


def test_an_altered_state_is_named_by_position_aggregate_and_version(
    conn: psycopg.Connection[Any], store: Any
) -> None:
    note = store[1][2]
    position = rows(conn, note)[1][0]
    conn.execute(
        psycopg.sql.SQL(
            "UPDATE {} SET state = convert_to(replace(convert_from(state, 'UTF8'), "
            "'second', 'forged'), 'UTF8') WHERE originator_id = %s AND originator_version = 2"
        ).format(T),
        (note.id,),
    )
    assert [(f.kind, f.position, f.aggregate_id, f.version) for f in found(conn)] == [
        ("altered", position, str(note.id), 2)
    ]


def test_an_event_deleted_from_the_middle_is_named(
    conn: psycopg.Connection[Any], store: Any
) -> None:
    note = store[1][1]
    third = rows(conn, note)[2][0]
    conn.execute(
        psycopg.sql.SQL(
            "DELETE FROM {} WHERE originator_id = %s AND originator_version = 2"
        ).format(T),
        (note.id,),
    )
    [finding] = found(conn)
    assert (finding.kind, finding.position, finding.version) == ("removed", third, 3)
    assert "version 2" in finding.detail


def test_two_events_with_their_positions_swapped_are_both_named(
    conn: psycopg.Connection[Any], store: Any
) -> None:
    a, b = store[1][1], store[1][2]
    pa, pb = rows(conn, a)[0][0], rows(conn, b)[0][0]
    swap_positions(conn, pa, pb)
    named = {(f.kind, f.aggregate_id, f.version) for f in found(conn)}
    assert {("altered", str(a.id), 1), ("altered", str(b.id), 1)} <= named


def test_events_of_one_aggregate_put_out_of_order_are_named_reordered(
    conn: psycopg.Connection[Any], store: Any
) -> None:
    note = store[1][3]
    first, _, last = (row[0] for row in rows(conn, note))
    swap_positions(conn, first, last)
    kinds = {(f.kind, f.version) for f in found(conn) if f.aggregate_id == str(note.id)}
    assert ("reordered", 2) in kinds and ("altered", 1) in kinds


def test_a_row_inserted_around_the_trigger_is_named_unchained(
    conn: psycopg.Connection[Any], store: Any
) -> None:
    note = store[1][1]
    conn.execute(psycopg.sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(T))
    conn.execute(
        psycopg.sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "SELECT originator_id, 4, topic, state FROM {} "
            "WHERE originator_id = %s AND originator_version = 3"
        ).format(T, T),
        (note.id,),
    )
    conn.execute(psycopg.sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(T))
    install_chain(conn, SCHEMA, TABLE)  # the next `db init` does not chain it after the fact
    [finding] = found(conn)
    assert (finding.kind, finding.aggregate_id, finding.version) == ("unchained", str(note.id), 4)
