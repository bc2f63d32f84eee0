"""`careledger relay <service>` and `python -m services.common.relay.publisher <service>`.

Exit codes: 0 stopped (SIGTERM/SIGINT), 3 fenced by a newer relay, 5 a record over the topic's
size limit (the message names its position), 6 more events quarantined than one bad record
explains. An event that breaks its contract is quarantined, not a reason to stop.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import typer

from services.common import quarantine
from services.common.access.log import ACCESS_TOPIC
from services.common.logging import configure_logging
from services.common.relay.publisher import RelayFenced, run_relay
from services.common.relay.quarantine import TooManyHeld
from services.common.relay.source import RecordTooLarge
from services.common.relay.status import relay_status
from services.common.settings import load_settings

EXIT_FENCED = 3
EXIT_TOO_LARGE = 5
EXIT_TOO_MANY_HELD = 6

relay_app = typer.Typer(no_args_is_help=True, help="Publish a service's events to Kafka.")


@relay_app.command("run")
def run(
    service: str = typer.Argument(..., help="plan, consent or referral"),
    topic: str = typer.Option("", help="Event topic (default careledger.<service>)."),
    transactional_id: str = typer.Option("", help="Default careledger-relay-<service>."),
    checkpoint_topic: str = typer.Option("careledger.relay-checkpoints"),
    checkpoint_key: str = typer.Option("", help="Default: the service name."),
    access_topic: str = typer.Option(ACCESS_TOPIC, help="Where the access events go."),
    batch_size: int = typer.Option(1000, min=1),
    transaction_timeout_ms: int = typer.Option(
        60_000, min=1_000, help="Kafka aborts a transaction open longer than this."
    ),
    schemas: Path | None = typer.Option(None, help="Schema root (default contracts/schemas)."),
    import_module: list[str] = typer.Option(
        [], "--import", help="Extra module naming events (tests)."
    ),
    metrics_port: int = typer.Option(0, help="Serve /metrics on this port (0: off)."),
) -> None:
    """Run the relay until SIGTERM; exits 3 when fenced, 5 on a record too large, 6 (see top)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    exit_on_stop(
        lambda: run_relay(
            service,
            settings,
            metrics_port=metrics_port or None,
            topic=topic,
            transactional_id=transactional_id,
            checkpoint_topic=checkpoint_topic,
            checkpoint_key=checkpoint_key,
            access_topic=access_topic,
            batch_size=batch_size,
            schema_root=schemas,
            transaction_timeout_ms=transaction_timeout_ms,
            domain_modules=tuple(import_module),
        )
    )


def exit_on_stop(run: Callable[[], None]) -> None:
    """Run the relay; turn each reason it stops into its exit code and one line on stderr."""
    try:
        run()
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


@relay_app.command("status")
def status(
    service: str = typer.Argument(...),
    checkpoint_topic: str = typer.Option("careledger.relay-checkpoints"),
    checkpoint_key: str = typer.Option("", help="Default: the service name."),
) -> None:
    """Print {service, position, max_notification_id, lag, held, quarantined} as JSON."""
    typer.echo(
        json.dumps(
            relay_status(
                service,
                load_settings(),
                checkpoint_topic=checkpoint_topic,
                checkpoint_key=checkpoint_key or None,
            )
        )
    )


@relay_app.command("retry")
def retry(
    service: str = typer.Argument(...),
    position: int | None = typer.Option(None, help="One held event (and its aggregate's)."),
) -> None:
    """Ask the running relay to publish its held events again (all, or one aggregate's)."""
    marked = quarantine.request_retry(load_settings().database_url, service, "relay", position)
    typer.echo(json.dumps({"service": service, "marked": marked}))


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] not in ("run", "status", "retry", "--help"):
        args = ["run", *args]  # `python -m services.common.relay.publisher plan` means `run plan`
    relay_app(args=args)
