"""What `careledger relay <service>` does (services/cli.py): run, show its status, retry held.

Exit codes: 0 stopped (SIGTERM/SIGINT), 3 fenced by a newer relay, 5 a record over the topic's
size limit (the message names its position), 6 more events quarantined than one bad record
explains. An event that breaks its contract is quarantined, not a reason to stop.
"""

from __future__ import annotations

import logging
from typing import Any

import typer

from services.common import quarantine
from services.common.relay.config import (
    EXIT_FENCED,
    EXIT_TOO_LARGE,
    EXIT_TOO_MANY_HELD,
    RecordTooLarge,
    RelayConfig,
    RelayFenced,
    TooManyHeld,
)
from services.common.settings import Settings


def run(config: RelayConfig, settings: Settings, *, metrics_port: int | None = None) -> None:
    """Run the relay; turn each reason it stops into its exit code and one line on stderr."""
    from services.common.relay.publisher import run_relay  # loads Kafka only to run

    try:
        run_relay(config, settings, metrics_port=metrics_port)
    except RelayFenced as exc:
        _stopped(f"fenced: {exc}", EXIT_FENCED)
    except RecordTooLarge as exc:
        _stopped(f"stopped at position {exc.position}: {exc}", EXIT_TOO_LARGE)
    except TooManyHeld as exc:
        _stopped(f"stopped: {exc}", EXIT_TOO_MANY_HELD)


def _stopped(message: str, code: int) -> None:
    logging.getLogger("careledger.relay").error("%s", message)
    typer.echo(message, err=True)
    raise typer.Exit(code)


def status(config: RelayConfig, settings: Settings) -> dict[str, Any]:
    """{service, position, max_notification_id, lag, held, quarantined}."""
    from services.common.relay.status import relay_status

    return relay_status(
        config.service,
        settings,
        checkpoint_topic=config.checkpoint_topic,
        checkpoint_key=config.key,
    )


def retry(config: RelayConfig, settings: Settings, position: int | None) -> dict[str, Any]:
    """Ask the running relay to publish its held events again (all, or one aggregate's)."""
    marked = quarantine.request_retry(settings.database_url, config.service, "relay", position)
    return {"service": config.service, "marked": marked}
