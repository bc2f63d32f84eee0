"""Each aggregate's events chained by hash in the store, and the check an auditor runs on it.

`install_chain` (run by `careledger db init`) adds a `chain_hash` column to a store's events
table and a trigger that computes it in the inserting transaction, as contracts/chain.py
defines it: the service code never sees it, so the save path gains one index lookup and two
hashes per event in PostgreSQL. Rows stored before the chain existed are chained once, in
version order, when the column is added. `verify_chain` reads the table back and names each
event whose chain does not hold: altered (its content, name, version or position changed),
removed (a version missing below a later one), reordered (positions out of version order) or
unchained (a row that did not pass through the trigger).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from contracts.chain import chain_hash

_ZERO = sql.SQL("'\\x{}'::bytea".format("00" * 32))


def events_table(service: str) -> tuple[str, str]:
    """(schema, table) of a service's events (the eventsourcing tables of `<name>`)."""
    return service, f"{service}_events"


def _names(schema: str, table: str) -> dict[str, sql.Composable]:
    return {
        "table": sql.Identifier(schema, table),
        "hash_fn": sql.Identifier(schema, f"{table}_chain_hash"),
        "trigger_fn": sql.Identifier(schema, f"{table}_chain"),
        "trigger": sql.Identifier(f"{table}_chain"),
        "zero": _ZERO,
    }


# The encoding of contracts/chain.py, in SQL.
_HASH_FN = """
CREATE OR REPLACE FUNCTION {hash_fn}(
    previous bytea, notification_id bigint, originator_id uuid, originator_version bigint,
    topic text, state bytea
) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT sha256(coalesce(previous, {zero}) || int8send(notification_id)
        || uuid_send(originator_id) || int8send(originator_version)
        || int4send(octet_length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8') || state)
$f$
"""
_TRIGGER_FN = """
CREATE OR REPLACE FUNCTION {trigger_fn}() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE previous bytea := {zero};
BEGIN
    IF NEW.originator_version > 1 THEN
        SELECT e.chain_hash INTO previous FROM {table} e
         WHERE e.originator_id = NEW.originator_id
           AND e.originator_version < NEW.originator_version
         ORDER BY e.originator_version DESC LIMIT 1;
    END IF;
    NEW.chain_hash := {hash_fn}(previous, NEW.notification_id, NEW.originator_id,
        NEW.originator_version, NEW.topic, NEW.state);
    RETURN NEW;
END
$f$
"""
_BACKFILL = """
DO $f$
DECLARE r record; previous bytea;
BEGIN
    FOR r IN SELECT * FROM {table} WHERE chain_hash IS NULL
             ORDER BY originator_id, originator_version LOOP
        SELECT e.chain_hash INTO previous FROM {table} e
         WHERE e.originator_id = r.originator_id AND e.originator_version < r.originator_version
         ORDER BY e.originator_version DESC LIMIT 1;
        UPDATE {table} SET chain_hash = {hash_fn}(previous, r.notification_id,
            r.originator_id, r.originator_version, r.topic, r.state)
         WHERE originator_id = r.originator_id AND originator_version = r.originator_version;
    END LOOP;
END
$f$
"""


def install_chain(conn: psycopg.Connection[Any], schema: str, table: str) -> None:
    """Add the column and trigger; chain the rows already stored, only when the column is new.

    Run again (each `db init`), it replaces the functions and the trigger and touches no row: a
    row written since around the trigger stays unchained, for `verify_chain` to name. Adding the
    column takes the table's exclusive lock once; waiting for it is bounded by `lock_timeout`.
    """
    names = _names(schema, table)
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '10s'")
        new = not _has_column(conn, schema, table)
        if new:
            conn.execute(sql.SQL("ALTER TABLE {table} ADD COLUMN chain_hash bytea").format(**names))
        conn.execute(sql.SQL(_HASH_FN).format(**names))
        conn.execute(sql.SQL(_TRIGGER_FN).format(**names))
        conn.execute(
            sql.SQL(
                "CREATE OR REPLACE TRIGGER {trigger} BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION {trigger_fn}()"
            ).format(**names)
        )
        if new:
            conn.execute(sql.SQL(_BACKFILL).format(**names))


def _has_column(conn: psycopg.Connection[Any], schema: str, table: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s AND column_name = 'chain_hash'",
        (schema, table),
    ).fetchone()
    return found is not None


@dataclass(frozen=True)
class Finding:
    """One event whose chain does not hold."""

    kind: str  # altered | removed | reordered | unchained
    position: int  # its notification id
    aggregate_id: str
    version: int
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Row:
    position: int
    aggregate: UUID
    version: int
    topic: str
    state: bytes
    stored: bytes | None


def _rows(conn: psycopg.Connection[Any], schema: str, table: str) -> Iterator[_Row]:
    query = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state, chain_hash "
        "FROM {table} ORDER BY originator_id, originator_version"
    ).format(**_names(schema, table))
    with conn.cursor(name="careledger_chain_verify") as cursor:
        cursor.itersize = 2000
        cursor.execute(query)
        for row in cursor:
            yield _Row(row[0], row[1], row[2], row[3], bytes(row[4]), _bytes(row[5]))


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def verify_chain(
    conn: psycopg.Connection[Any], schema: str, table: str
) -> tuple[int, list[Finding]]:
    """(events read, findings) for one store's events table; no findings: the chains hold."""
    findings: list[Finding] = []
    count, before = 0, None
    with conn.transaction():
        for row in _rows(conn, schema, table):
            count += 1
            previous = before if before is not None and before.aggregate == row.aggregate else None
            findings.extend(_check(row, previous))
            before = row
    return count, findings


def _check(row: _Row, previous: _Row | None) -> list[Finding]:
    def finding(kind: str, detail: str) -> Finding:
        return Finding(kind, row.position, str(row.aggregate), row.version, detail)

    if row.stored is None:
        return [finding("unchained", "stored without a chain hash: written around the store")]
    expected_version = previous.version + 1 if previous is not None else 1
    if row.version != expected_version:
        missing = f"{expected_version}" + (
            f"-{row.version - 1}" if row.version - 1 > expected_version else ""
        )
        return [finding("removed", f"version {missing} of this aggregate is missing before it")]
    found = []
    if previous is not None and previous.position >= row.position:
        found.append(finding("reordered", f"stored at {row.position}, after {previous.position}"))
    recomputed = chain_hash(
        previous.stored if previous is not None else None,
        notification_id=row.position,
        originator_id=row.aggregate,
        originator_version=row.version,
        topic=row.topic,
        state=row.state,
    )
    if recomputed != row.stored and not found:
        found.append(finding("altered", "its content, name or position differs from when stored"))
    return found
