"""Fixtures of the plan tests on the stack: a private schema and topics, the app, a client.

The app asks a real consent service over HTTP (its own private schema) for the couple's
agreement in force.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from services.plan.application import PlanApplication
from services.plan.bootstrap import build_plans, close_plans, create_app
from tests.integration.support_consent_server import consent_service
from tests.integration.support_relay import RelayWorld, make_world


@pytest.fixture
def world(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, kafka_bootstrap, tmp_path)


@pytest.fixture
def consent_url(database_url: str) -> Iterator[str]:
    schema = f"consent_it_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        with consent_service(database_url, schema) as url:
            yield url
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def plans(world: RelayWorld, consent_url: str) -> Iterator[PlanApplication]:
    cls = type("PlanOnStack", (PlanApplication,), {"name": world.store})
    settings = world.settings.model_copy(update={"consent_url": consent_url})
    app = build_plans(settings, application_class=cls, create_table=True)
    yield app
    close_plans(app)


@pytest.fixture
def client(world: RelayWorld, plans: PlanApplication) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings, plans), raise_server_exceptions=False) as test:
        yield test
