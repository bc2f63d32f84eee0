"""Readiness: whether this process can reach a PostgreSQL primary and a Kafka broker now.

Kubernetes sends traffic to an API pod only while its readiness check passes (`GET /ready`;
`careledger ready` for the processes without HTTP). Liveness (`GET /health`) checks neither:
a database or broker outage must not get every pod restarted, since the services ride it out.
The Kafka check is a TCP connect to any bootstrap server, whatever the listener's TLS or SASL.
"""

from __future__ import annotations

import socket

import psycopg

from services.common.settings import Settings

TIMEOUT_S = 2.0


def postgres_ready(url: str, timeout: float = TIMEOUT_S) -> bool:
    """A connection that takes writes (the URL's target_session_attrs) answers `SELECT 1`."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def kafka_ready(bootstrap: str, timeout: float = TIMEOUT_S) -> bool:
    """Some bootstrap server accepts a TCP connection."""
    for server in filter(None, (s.strip() for s in bootstrap.split(","))):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


def readiness(settings: Settings) -> dict[str, bool]:
    """Each configured dependency and whether it answers (none configured: nothing to check)."""
    checks: dict[str, bool] = {}
    if settings.database_url:
        checks["postgres"] = postgres_ready(settings.database_url)
    if settings.kafka_bootstrap:
        checks["kafka"] = kafka_ready(settings.kafka_bootstrap)
    return checks
