"""Fixtures of the plan tests on the stack: a private schema and topics, the app, a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.plan.application import PlanApplication
from services.plan.bootstrap import build_plans, close_plans, create_app
from tests.integration.test_relay_support import RelayWorld, make_world


@pytest.fixture
def world(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, kafka_bootstrap, tmp_path)


@pytest.fixture
def plans(world: RelayWorld) -> Iterator[PlanApplication]:
    cls = type("PlanOnStack", (PlanApplication,), {"name": world.store})
    app = build_plans(world.settings, application_class=cls, create_table=True)
    yield app
    close_plans(app)


@pytest.fixture
def client(world: RelayWorld, plans: PlanApplication) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings, plans), raise_server_exceptions=False) as test:
        yield test
