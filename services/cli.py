"""`careledger`: run the stack, the services, their relays and consumers; mint local tokens."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from contracts.topics import ACCESS_TOPIC, CHECKPOINT_TOPIC
from services.common.relay.config import RelayConfig
from services.common.settings import SERVICES, Settings
from services.common.settings import load_settings as _load_settings
from services.keys_cli import keys_app
from services.stack.cli import db_app, stack_app

if TYPE_CHECKING:
    from services.common.readmodels.projection import Projection
    from services.common.service import ServiceSpec

app = typer.Typer(no_args_is_help=True, help=__doc__)
app.add_typer(stack_app, name="stack")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
ledger_app = typer.Typer(no_args_is_help=True, help="Check the stores' tamper evidence.")
app.add_typer(ledger_app, name="ledger")
projections_app = typer.Typer(no_args_is_help=True, help="Read models kept from the events.")
app.add_typer(projections_app, name="projections")

ServiceArg = Annotated[str, typer.Argument(help=f"one of {', '.join(SERVICES)}")]


def _service(name: str) -> str:
    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; choose one of {', '.join(SERVICES)}")
    return name


def load_settings(*, local_tool: bool = False) -> Settings:
    """Settings, or a one-line error that says which variable to fix.

    Local tools (token, tail, status) default to the dev environment when CARELEDGER_ENV is
    unset, so they work against `careledger stack up` as they are; servers never do.
    """
    overrides: dict[str, object] = {}
    if local_tool and "CARELEDGER_ENV" not in os.environ:
        overrides["env"] = "dev"
    try:
        return _load_settings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"configuration error: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def _spec(name: str) -> ServiceSpec:
    """The registered service `name` (imports every service: only commands that start one)."""
    from services.registry import spec_of

    return spec_of(_service(name))


def _every_projection() -> list[type[Projection]]:
    """Every service's read models, from the registry's specs."""
    from services.registry import SPECS

    return [cls for spec in SPECS.values() for cls in spec.projections]


@app.command()
def token(
    role: Annotated[list[str], typer.Option(help="a role; repeat for several")],
    tenant: Annotated[str, typer.Option(help="the practice (tenant) id")] = "demo",
    sub: Annotated[str, typer.Option(help="the caller's id")] = "local-user",
    ttl: Annotated[int, typer.Option(help="seconds until it expires")] = 8 * 3600,
    patient: Annotated[
        str | None, typer.Option(help="with --role client: the client id the token belongs to")
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="SMART scopes, e.g. 'patient/CarePlan.rs'")
    ] = None,
    fhir_user: Annotated[
        str | None, typer.Option(help="SMART fhirUser, e.g. Practitioner/c-1 or Patient/p-1")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="sign with this private key (`careledger keys new`)")
    ] = None,
) -> None:
    """Mint a token: HS256 with CARELEDGER_JWT_SECRET (CARELEDGER_ENV=dev only), or with --key
    an EdDSA/RS256 token that services verifying with the key's JWKS accept."""
    from pathlib import Path

    from services.common.auth.callers import TokenService
    from services.common.auth.keys import KeySigner

    try:
        signer = KeySigner.from_file(key, Path(key).stem) if key else None
        settings = load_settings(local_tool=True)
        if signer is not None:  # only signing: no JWKS needed to mint
            settings = settings.model_copy(update={"env": "dev"})
        tokens = TokenService(settings)
        typer.echo(
            tokens.mint(
                sub,
                tenant,
                role,
                ttl_seconds=ttl,
                patient=patient,
                scope=scope,
                fhir_user=fhir_user,
                signer=signer,
            )
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def serve(
    service: ServiceArg,
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1")] = 8000,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
) -> None:
    """Run one service's HTTP API."""
    import uvicorn

    from services.common.auth.keys import TokenConfigError
    from services.common.logging import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        api = _spec(service).create_app(settings)
    except TokenConfigError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False)


@app.command()
def relay(
    service: Annotated[str, typer.Argument(help="plan, consent or referral")],
    status: Annotated[
        bool, typer.Option("--status", help="print lag and quarantine, exit")
    ] = False,
    retry: Annotated[int | None, typer.Option(help="republish this held event's aggregate")] = None,
    retry_all: Annotated[
        bool, typer.Option("--retry-all", help="republish every held event")
    ] = False,
    topic: Annotated[str, typer.Option(help="event topic (default careledger.<service>)")] = "",
    transactional_id: Annotated[str, typer.Option(help="default careledger-relay-<service>")] = "",
    checkpoint_topic: Annotated[str, typer.Option(help="where positions go")] = CHECKPOINT_TOPIC,
    checkpoint_key: Annotated[str, typer.Option(help="default: the service name")] = "",
    access_topic: Annotated[str, typer.Option(help="where access events go")] = ACCESS_TOPIC,
    batch_size: Annotated[int, typer.Option(min=1)] = 1000,
    transaction_timeout_ms: Annotated[
        int, typer.Option(min=1_000, help="Kafka aborts a transaction open longer than this")
    ] = 60_000,
    schemas: Annotated[
        Path | None, typer.Option(help="schema root (default contracts/schemas)")
    ] = None,
    import_module: Annotated[
        list[str] | None,
        typer.Option("--import", help="module naming a store's events: any store, not a service"),
    ] = None,
    metrics_port: Annotated[int, typer.Option(help="serve /metrics on this port (0: off)")] = 0,
) -> None:
    """Publish a service's committed events to Kafka, exactly once, in commit order.

    Exits 3 when a newer relay for the service fenced this one, 5 when a record is over the
    topic's size limit (naming its position), 6 when more events are quarantined than one bad
    record explains. `--status` shows the lag and the quarantined events; `--retry` and
    `--retry-all` ask the running relay to publish held events again after a fix.
    """
    from services.common.logging import configure_logging
    from services.common.relay import cli as relay_cli

    extra = tuple(import_module or ())
    config = RelayConfig(
        service=service if extra else _service(service),
        topic=topic,
        transactional_id=transactional_id,
        checkpoint_topic=checkpoint_topic,
        checkpoint_key=checkpoint_key,
        access_topic=access_topic,
        batch_size=batch_size,
        transaction_timeout_ms=transaction_timeout_ms,
        schema_root=schemas,
        # the modules that name the store's events: the service's domain, or those given
        domain_modules=extra or _spec(service).domain_modules,
    )
    settings = load_settings(local_tool=status or retry is not None or retry_all)
    if status:
        typer.echo(json.dumps(relay_cli.status(config, settings)))
        return
    if retry is not None or retry_all:
        typer.echo(json.dumps(relay_cli.retry(config, settings, retry)))
        return
    configure_logging(settings.log_level)
    relay_cli.run(config, settings, metrics_port=metrics_port or None)


@app.command()
def consume(
    service: ServiceArg,
    status: Annotated[bool, typer.Option("--status", help="print its dead letters, exit")] = False,
    retry: Annotated[
        str | None, typer.Option(help="process this dead letter again (its ref)")
    ] = None,
    retry_all: Annotated[bool, typer.Option("--retry-all", help="process every one again")] = False,
) -> None:
    """Apply other services' records to this service (reactions), exactly once.

    A record it cannot process goes to the dead-letter topic and its quarantine; `--status`
    lists them, `--retry <ref>` / `--retry-all` process them again after a fix, then exit.
    """
    from services.common.logging import configure_logging
    from services.common.service import retry_consumer, run_consumer

    settings = load_settings(local_tool=status)
    if status:
        from services.common.quarantine import listing

        typer.echo(json.dumps(listing(settings.database_url, _service(service), "consumer")))
        return
    configure_logging(settings.log_level)
    if retry is not None or retry_all:
        typer.echo(json.dumps(retry_consumer(_spec(service), settings, retry)))
        return
    run_consumer(_spec(service), settings)


@app.command()
def ready() -> None:
    """Exit 0 when PostgreSQL and Kafka answer: the readiness probe of relays and consumers."""
    from services.common.http.readiness import readiness

    checks = readiness(load_settings(local_tool=True))
    typer.echo(json.dumps(checks))
    raise typer.Exit(0 if checks and all(checks.values()) else 1)


@app.command()
def demo() -> None:
    """Run the practice's journeys 1-3 against the running stack, then show where to look."""
    from services.demo.cli import run_demo

    run_demo(load_settings(local_tool=True))


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="e.g. careledger.plan")],
    from_beginning: Annotated[bool, typer.Option(help="start at the oldest record")] = False,
    limit: Annotated[int | None, typer.Option(help="stop after this many records")] = None,
    idle: Annotated[float, typer.Option(help="stop after this many quiet seconds (0: never)")] = 0,
) -> None:
    """Follow a topic (read_committed): type, subject, sequence and labels of each record."""
    from services.tail import follow, print_lines

    settings = load_settings(local_tool=True)
    if not settings.kafka_bootstrap:
        typer.echo(
            "no Kafka configured: run `careledger stack up` or set CARELEDGER_KAFKA_BOOTSTRAP"
        )
        raise typer.Exit(2)
    from services.common.kafka_access import kafka_access

    lines = follow(
        kafka_access(settings),
        topic,
        from_beginning=from_beginning,
        limit=limit,
        idle_seconds=idle,
    )
    print_lines(lines)


@projections_app.command("run")
def projections_run(service: ServiceArg) -> None:
    """Keep a service's read models up to date from its events."""
    from services.common.logging import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    from services.common.service import run_projections

    run_projections(_spec(service), settings)


@projections_app.command("rebuild")
def projections_rebuild(name: Annotated[str, typer.Argument(help="projection name")]) -> None:
    """Drop one read model and replay every event into it."""
    from services.common.readmodels.projection_runs import rebuild

    try:
        rebuild(name, load_settings(local_tool=True), candidates=_every_projection())
    except LookupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"rebuilt {name}")


@projections_app.command("status")
def projections_status(
    service: Annotated[str | None, typer.Argument(help="one service (default: all)")] = None,
) -> None:
    """Each read model's position, lag and quarantined events, as JSON."""
    from services.common.readmodels.projection_runs import status

    settings = load_settings(local_tool=True)
    specs = [_spec(service)] if service else [_spec(name) for name in SERVICES]
    rows = [
        row for spec in specs for row in status(spec.name, settings, candidates=spec.projections)
    ]
    typer.echo(json.dumps(rows, default=str))


@projections_app.command("retry")
def projections_retry(
    name: Annotated[str, typer.Argument(help="projection name")],
    position: Annotated[int | None, typer.Option(help="only this event's aggregate")] = None,
) -> None:
    """Apply a read model's quarantined events again, in order, after a fix."""
    from services.common.readmodels.projection_runs import retry

    settings = load_settings(local_tool=True)
    try:
        applied, held = retry(name, settings, position=position, candidates=_every_projection())
    except LookupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"projection": name, "applied": applied, "still_held": held}))


@ledger_app.command("verify")
def ledger_verify(service: ServiceArg) -> None:
    """Recompute every stored event's chain hash; name each event altered, removed or moved.

    One JSON line per finding (kind, position, aggregate_id, version, detail), then a summary
    line; exits 1 when anything is wrong, 2 when the store cannot be read.
    """
    from services.ledger_cli import verify

    code = verify(load_settings(local_tool=True), _service(service))
    if code:
        raise typer.Exit(code)
