"""Poison planted straight into an event store, as a bug or a bad import might leave it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

from contracts.records import META_KEY


def plant(
    database_url: str,
    schema: str,
    *,
    topic: str,
    state: bytes,
    aggregate: uuid.UUID | None = None,
    version: int = 1,
) -> int:
    """Insert one stored event as is; returns its position (notification id)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            f"INSERT INTO {schema}.{schema}_events"  # noqa: S608 - a test's own schema
            " (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
            " RETURNING notification_id",
            (aggregate or uuid.uuid4(), version, topic, state),
        ).fetchone()
    assert row is not None
    return int(row[0])


def stored_state(**fields: Any) -> bytes:
    """A state as the store keeps it (compact JSON, with the metadata every event carries)."""
    meta = {
        "actor_id": "u-poison",
        "actor_role": "clinician",
        "tenant": "t-relay",
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
    }
    base = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-01T09:00:00+00:00"},
        META_KEY: meta,
    }
    return json.dumps({**base, **fields}, separators=(",", ":")).encode()


def positions(database_url: str, schema: str) -> list[int]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT notification_id FROM {schema}.{schema}_events ORDER BY 1"  # noqa: S608
        ).fetchall()
    return [int(r[0]) for r in rows]
