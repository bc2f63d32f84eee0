"""`careledger stack up|down|status` and `careledger db init`."""

from __future__ import annotations

import os
import time

import typer
from rich.console import Console
from rich.table import Table

from services.common.kafka_access import KafkaTarget, kafka_access
from services.common.settings import Settings
from services.stack import stack
from services.stack.prereqs import MissingPrerequisiteError
from services.stack.state import StackInfo, StackNotRunningError, read_stack_info, stack_file

stack_app = typer.Typer(no_args_is_help=True, help="Run the local stack.")
db_app = typer.Typer(no_args_is_help=True, help="Create schemas, topics and event tables.")
console = Console()


def _print_info(info: StackInfo) -> None:
    table = Table(title=f"careledger stack ({stack_file()})")
    for column in ("component", "pid", "port", "url", "log"):
        table.add_column(column)
    for name, c in info.components.items():
        table.add_row(name, str(c.pid or "-"), str(c.port or "-"), c.url or "-", c.log or "-")
    console.print(table)
    console.print(f"CARELEDGER_DATABASE_URL={info.database_url}")
    console.print(f"CARELEDGER_KAFKA_BOOTSTRAP={info.kafka_bootstrap}")
    for key, value in info.kafka_security.items():
        shown = "(in stack.json)" if key == "sasl_password" else value
        console.print(f"CARELEDGER_KAFKA_{key.upper()}={shown}")
    console.print(f"Kafka {info.kafka_version}")


@stack_app.command()
def up(
    infra_only: bool = typer.Option(False, "--infra-only", help="Kafka and PostgreSQL only."),
    brokers: int | None = typer.Option(
        None, "--brokers", help="1 or 3 KRaft brokers (default: as before, else 1)."
    ),
    pg_standby: bool = typer.Option(
        False, "--pg-standby", help="Add a synchronous streaming standby of PostgreSQL (kept)."
    ),
    kafka_tls: bool = typer.Option(
        False, "--kafka-tls", help="A new home's broker takes TLS + SCRAM clients only (kept)."
    ),
) -> None:
    """Start Kafka, PostgreSQL and (unless --infra-only) every service that exists."""
    started = time.monotonic()
    try:
        info = stack.up(
            infra_only=infra_only,
            brokers=brokers,
            pg_standby=pg_standby,
            kafka_tls=kafka_tls,
            on_note=console.print,
        )
    except MissingPrerequisiteError as exc:
        console.print(f"[red]cannot start the stack: {exc}[/red]")
        raise typer.Exit(2) from exc
    except RuntimeError as exc:
        console.print(f"[red]stack up failed: {exc}[/red]")
        raise typer.Exit(1) from exc
    _print_info(info)
    console.print(f"up in {time.monotonic() - started:.1f}s")


@stack_app.command()
def failover() -> None:
    """Promote the PostgreSQL standby, then make the old primary its standby (pg_rewind)."""
    started = time.monotonic()
    try:
        info = stack.failover(on_note=console.print)
    except (StackNotRunningError, RuntimeError) as exc:
        console.print(f"[red]failover failed: {exc}[/red]")
        raise typer.Exit(1) from exc
    _print_info(info)
    console.print(f"failover done in {time.monotonic() - started:.1f}s")


@stack_app.command()
def down() -> None:
    """Stop what `up` started (by pid from stack.json)."""
    stopped = stack.down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@stack_app.command()
def status() -> None:
    """Per component: is its pid alive and does its port answer. Exit 1 if anything is down."""
    rows = stack.status()
    if not rows:
        console.print(f"not running: no {stack_file()}")
        raise typer.Exit(1)
    table = Table(title="careledger stack status")
    for column in ("component", "pid", "alive", "answers", "role", "url"):
        table.add_column(column)
    for r in rows:
        answers = "-" if r.answers is None else ("yes" if r.answers else "NO")
        alive = "yes" if r.alive else "NO"
        table.add_row(r.name, str(r.pid or "-"), alive, answers, r.role or "-", r.url or "-")
    console.print(table)
    if not all(r.alive and r.answers is not False for r in rows):
        raise typer.Exit(1)


@stack_app.command()
def info() -> None:
    """Print stack.json's connection facts."""
    try:
        _print_info(read_stack_info())
    except StackNotRunningError as exc:
        console.print(str(exc))
        raise typer.Exit(1) from exc


@db_app.command("init")
def init(
    topics: bool = typer.Option(
        True,
        "--topics/--no-topics",
        help="Also create the Kafka topics (off where an operator does).",
    ),
) -> None:
    """Create PostgreSQL schemas, Kafka topics and event tables: for CARELEDGER_DATABASE_URL
    (and CARELEDGER_KAFKA_BOOTSTRAP) when set, else for the running stack."""
    env = os.environ
    try:
        info: StackInfo | None = read_stack_info()
        missing = ""
    except StackNotRunningError as exc:
        info, missing = None, str(exc)
    database_url = env.get("CARELEDGER_DATABASE_URL") or (info.database_url if info else "")
    if env.get("CARELEDGER_KAFKA_BOOTSTRAP"):  # with its CARELEDGER_KAFKA_* security settings
        kafka: KafkaTarget = kafka_access(Settings(env="dev"))
    else:
        kafka = stack.stack_kafka(info) if info else ""
    if not database_url:
        console.print(missing or "no database: set CARELEDGER_DATABASE_URL")
        raise typer.Exit(1)
    for note in stack.db_init(database_url, kafka if topics else ""):
        console.print(note)
