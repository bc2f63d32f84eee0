"""Readiness: whether this process can reach a PostgreSQL primary and a Kafka broker now.

Kubernetes sends traffic to an API pod only while its readiness check passes (`GET /ready`;
`careledger ready` for the processes without HTTP). Liveness (`GET /health`) checks neither:
a database or broker outage must not get every pod restarted, since the services ride it out.
The Kafka check asks the cluster to describe itself, with this process's own Kafka access
(TLS, SASL): a broker that accepts connections but does not answer (a frozen process, whose
kernel still completes the TCP handshake) is not ready.
"""

from __future__ import annotations

from typing import Any

import psycopg
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from services.common.kafka_access import kafka_access
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


class _Probe(KafkaAdminClient):  # type: ignore[misc]
    """An admin client that stops its network thread when it cannot bootstrap.

    kafka-python starts the client's I/O thread before it bootstraps, and a constructor that
    raises hands back no client to close: each failed probe would leave a thread and sockets.
    """

    def __init__(self, **config: Any) -> None:
        try:
            super().__init__(**config)
        except BaseException:
            if hasattr(self, "_net"):
                self._closed = False
                self.close()
            raise


def kafka_ready(settings: Settings, timeout: float = TIMEOUT_S) -> bool:
    """A broker answers a describe-cluster request: `timeout` to connect, `timeout` to answer."""
    limit_ms = int(timeout * 1000)
    try:
        admin = _Probe(
            **kafka_access(settings).options(),
            client_id="careledger-ready",
            bootstrap_timeout_ms=limit_ms,
            request_timeout_ms=limit_ms,
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        return bool(admin.describe_cluster().get("cluster_id"))
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        admin.close()


def readiness(settings: Settings) -> dict[str, bool]:
    """Each configured dependency and whether it answers (none configured: nothing to check)."""
    checks: dict[str, bool] = {}
    if settings.database_url:
        checks["postgres"] = postgres_ready(settings.database_url)
    if settings.kafka_bootstrap:
        checks["kafka"] = kafka_ready(settings)
    return checks
