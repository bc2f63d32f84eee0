"""The referral service on the real PostgreSQL, asking a real consent service over HTTP.

Each test gets private PostgreSQL schemas for the referral and consent stores (dropped after).
The consent API runs in a uvicorn server on a free local port; the referral API runs in process
(FastAPI TestClient) with the real HTTP consent gate pointed at that server.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient

from services.common.consent_gate import HttpConsentGate
from services.common.settings import load_settings
from services.common.store import build_application
from services.consent.application import ConsentApplication
from services.consent.bootstrap import create_app as create_consent_app
from services.referral.application import ReferralApplication
from services.referral.bootstrap import build_referrals, close_referrals
from services.referral.bootstrap import create_app as create_referral_app
from tests.integration.referral.world import ReferralWorld


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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
    settings = load_settings(database_url=database_url, env="dev")
    cls = type("ConsentOnStack", (ConsentApplication,), {"name": schemas[1]})
    consent: ConsentApplication = build_application(cls, settings, create_table=True)
    port = _free_port()
    config = uvicorn.Config(create_consent_app(settings, consent), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the consent service did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    consent.close()


@pytest.fixture
def world(database_url: str, schemas: tuple[str, str], consent_url: str) -> Iterator[ReferralWorld]:
    settings = load_settings(database_url=database_url, env="dev", consent_url=consent_url)
    cls = type("ReferralOnStack", (ReferralApplication,), {"name": schemas[0]})
    referrals = build_referrals(settings, application_class=cls, create_table=True,
                                gate=HttpConsentGate(consent_url))  # fmt: skip
    with TestClient(create_referral_app(settings, referrals)) as client:
        yield ReferralWorld(settings, referrals, client, consent_url)
    close_referrals(referrals)
