"""`careledger relay <service>` and `python -m services.common.relay <service>`.

Exit codes: 0 stopped (SIGTERM/SIGINT), 3 fenced by a newer relay, 4 a record broke its contract.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import typer

from contracts.schemas import ContractViolation
from services.common.access_log import ACCESS_TOPIC
from services.common.logging import configure_logging
from services.common.relay import RelayFenced, run_relay
from services.common.relay_status import relay_status
from services.common.settings import load_settings

EXIT_FENCED = 3
EXIT_CONTRACT = 4

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
    schemas: Path | None = typer.Option(None, help="Schema root (default contracts/schemas)."),
    import_module: list[str] = typer.Option(
        [], "--import", help="Extra module naming events (tests)."
    ),
    metrics_port: int = typer.Option(0, help="Serve /metrics on this port (0: off)."),
) -> None:
    """Run the relay until SIGTERM; exits 3 when fenced, 4 on a contract violation."""
    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        run_relay(
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
            domain_modules=tuple(import_module),
        )
    except RelayFenced as exc:
        logging.getLogger("careledger.relay").error("%s", exc)
        raise typer.Exit(EXIT_FENCED) from None
    except ContractViolation as exc:
        logging.getLogger("careledger.relay").error("stopped: %s", exc)
        raise typer.Exit(EXIT_CONTRACT) from None


@relay_app.command("status")
def status(service: str = typer.Argument(...)) -> None:
    """Print {service, position, max_notification_id, lag} as JSON."""
    typer.echo(json.dumps(relay_status(service, load_settings())))


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] not in ("run", "status", "--help"):
        args = ["run", *args]  # `python -m services.common.relay plan` means `run plan`
    relay_app(args=args)
