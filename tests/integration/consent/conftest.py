"""Fixtures of the consent integration tests: the consent application on private schemas."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from services.common.settings import load_settings
from services.consent.application import ConsentApplication
from services.consent.bootstrap import build_consents, close_consents
from tests.unit.consent.support_builders import NOW


@pytest.fixture
def app(database_url: str) -> Iterator[ConsentApplication]:
    """The consent application (its read models in PostgreSQL) on a private schema, at NOW."""
    schema = f"consent_rm_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    settings = load_settings(database_url=database_url, env="dev")
    cls = type("ConsentListsIt", (ConsentApplication,), {"name": schema})
    consents = build_consents(settings, application_class=cls, create_table=True)
    consents.clock = lambda: NOW  # type: ignore[method-assign]
    yield consents
    close_consents(consents)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
