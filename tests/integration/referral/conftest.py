"""The referral service on the real PostgreSQL, asking a real consent service over HTTP.

Each test gets private PostgreSQL schemas for the referral and consent stores (dropped after).
The consent API runs in a uvicorn server on a free local port (`consent_server`); the referral
API runs in process (FastAPI TestClient) with the real HTTP consent gate pointed at it.
`app` is the application alone on one private schema, sending on a fake PERMIT, at a fixed clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from services.common.access.consent_gate import HttpConsentGate
from services.common.settings import load_settings
from services.referral.application import ReferralApplication
from services.referral.bootstrap import build_referrals, close_referrals
from services.referral.bootstrap import create_app as create_referral_app
from services.referral.domain import ServiceLevels
from tests.integration.referral.support_world import ReferralWorld
from tests.integration.support_consent_server import consent_service
from tests.unit.referral.conftest import Clock
from tests.unit.referral.support_helpers import T0, FakeConsentGate


@pytest.fixture
def schemas(database_url: str) -> Iterator[tuple[str, str]]:
    suffix = uuid.uuid4().hex[:10]
    names = (f"referral_it_{suffix}", f"consent_it_{suffix}")
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f"CREATE SCHEMA {name}")
    yield names
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def consent_url(database_url: str, schemas: tuple[str, str]) -> Iterator[str]:
    with consent_service(database_url, schemas[1]) as url:
        yield url


@pytest.fixture
def world(database_url: str, schemas: tuple[str, str], consent_url: str) -> Iterator[ReferralWorld]:
    settings = load_settings(database_url=database_url, env="dev", consent_url=consent_url)
    cls = type("ReferralOnStack", (ReferralApplication,), {"name": schemas[0]})
    referrals = build_referrals(
        settings, application_class=cls, create_table=True, gate=HttpConsentGate(consent_url)
    )
    with TestClient(create_referral_app(settings, referrals)) as client:
        yield ReferralWorld(settings, referrals, client, consent_url)
    close_referrals(referrals)


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    name = f"referral_rm_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def app(database_url: str, schema: str) -> Iterator[ReferralApplication]:
    """The referral application (its read models in PostgreSQL) on a private schema, at T0."""
    settings = load_settings(database_url=database_url, env="dev")
    cls = type("ReferralReadModelIt", (ReferralApplication,), {"name": schema})
    gate = FakeConsentGate("PERMIT")
    referrals = build_referrals(settings, application_class=cls, create_table=True, gate=gate)
    referrals.service_levels = ServiceLevels(timezone="UTC")
    referrals.clock = Clock(T0)
    yield referrals
    close_referrals(referrals)
