"""How far a relay got: Prometheus metrics it serves, and `relay_status` for the CLI."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, start_http_server

from contracts.topics import CHECKPOINT_TOPIC
from services.common import quarantine
from services.common.kafka_access import kafka_access
from services.common.relay.kafka import read_checkpoint_state
from services.common.settings import Settings

LAG = Gauge(
    "careledger_relay_lag",
    "Events committed in the store but not yet published (max notification id - position)",
    ["service"],
)
POSITION = Gauge(
    "careledger_relay_position", "Last notification id published and committed", ["service"]
)
PUBLISHED = Counter(
    "careledger_relay_published", "Events published in committed transactions", ["service"]
)


class RelayMetrics:
    """The relay's metrics for one service."""

    def __init__(self, service: str) -> None:
        self.service = service

    def published(self, count: int, position: int) -> None:
        if count:
            PUBLISHED.labels(self.service).inc(count)
        POSITION.labels(self.service).set(position)

    def lag(self, max_notification_id: int, position: int) -> None:
        LAG.labels(self.service).set(max(0, max_notification_id - position))


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics on `host:port` from a daemon thread (loopback unless told otherwise)."""
    start_http_server(port, addr=host)


def relay_status(
    service: str,
    settings: Settings,
    *,
    checkpoint_topic: str = CHECKPOINT_TOPIC,
    checkpoint_key: str | None = None,
) -> dict[str, Any]:
    """{service, position, max_notification_id, lag, held, quarantined} from Kafka's
    checkpoint and the store: `held` counts the quarantined positions the checkpoint lists,
    `quarantined` their rows (position, aggregate, type, reason, held behind).

    Reads up to the last stable offset, so a transaction in flight does not make it wait.
    """
    from services.common.relay.source import store_application

    checkpoint = read_checkpoint_state(
        kafka_access(settings), checkpoint_key or service, topic=checkpoint_topic, settle=False
    )
    app = store_application(service, settings)
    try:
        highest = int(app.recorder.max_notification_id() or 0)
    finally:
        app.close()
    return {
        "service": service,
        "position": checkpoint.position,
        "max_notification_id": highest,
        "lag": max(0, highest - checkpoint.position),
        "held": len(checkpoint.held),
        "quarantined": quarantine.listing(settings.database_url, service, "relay"),
    }
