"""`careledger demo`: run journeys 1-3 against the running stack and show where to look.

`careledger demo` (services/cli.py) calls `run_demo(settings)`.
Every line shows ids, codes and versions only; the names are synthetic ("Partner A").
"""

from __future__ import annotations

import time
from collections.abc import Callable

import typer
from rich.console import Console

from services.common.auth.callers import TokenService
from services.common.kafka_access import kafka_access
from services.common.settings import Settings
from services.demo.client import ROLES, JourneyError, Practice, StackNotUp, Step
from services.demo.couple import JourneyResult
from services.demo.journeys import (
    coercive_control_disclosed,
    couples_therapy_starts,
    substance_use_and_detox,
)
from services.demo.kafka_check import KafkaReport, check_kafka

Journey = Callable[..., JourneyResult]
DEMO_JOURNEYS: tuple[Journey, ...] = (
    couples_therapy_starts,
    coercive_control_disclosed,
    substance_use_and_detox,
)
NOT_UP = "the stack is not running: run `careledger stack up` first"


def _print_step(console: Console) -> Callable[[Step], None]:
    def show(step: Step) -> None:
        status = "waited" if step.status == 0 else str(step.status)
        colour = "green" if step.status < 400 else "yellow"
        etag = f" [dim]ETag {step.etag}[/]" if step.etag else ""
        console.print(
            f"  [cyan]{step.service:>8}[/] {step.action} [{colour}]{status}[/] "
            f"{step.outcome}{etag}",
            highlight=False,
            soft_wrap=True,
        )

    return show


def kafka_checker(
    settings: Settings, *, whole_store: bool = False, timeout: float = 60.0
) -> Callable[[JourneyResult], KafkaReport]:
    """A check to pass to a journey: its tenant's events (or the whole store) against Kafka."""

    def check(result: JourneyResult) -> KafkaReport:
        tenant = None if whole_store else result.tenant
        return check_kafka(
            settings.database_url, kafka_access(settings), tenant=tenant, timeout=timeout
        )

    return check


def _show_kafka(console: Console, result: JourneyResult) -> None:
    report: KafkaReport = result.kafka
    colour = "green" if report.ok else "red"
    console.print(f"  [bold]   kafka[/] [{colour}]{report.summary()}[/]", highlight=False)
    for label, ce_id in result.records.items():
        seen = report.records.get(ce_id)
        where = (
            f"{seen.ce_type} {seen.topic}/{seen.partition}@{seen.offset} "
            f"labels {','.join(seen.labels) or '-'}"
            if seen
            else "[red]not on Kafka[/]"
        )
        console.print(f"           {label}: {where}", highlight=False, soft_wrap=True)
    for problem in (report.missing + report.extra + report.invalid + report.mismatched)[:10]:
        console.print(f"           [red]{problem}[/]", highlight=False, soft_wrap=True)


def run_demo(settings: Settings, console: Console | None = None) -> None:
    """Journeys 1-3 with a line per step, the Kafka check per journey, then where to look."""
    console = console or Console()
    if not settings.service_urls or not settings.database_url or not settings.kafka_bootstrap:
        console.print(f"[red]{NOT_UP}[/]", soft_wrap=True)
        raise typer.Exit(1)
    tokens = TokenService(settings)
    practice = Practice(settings.service_urls, tokens, on_step=_print_step(console))
    check = kafka_checker(settings)
    failures = 0
    try:
        practice.check_up()
        console.print(f"[bold]careledger demo[/] - practice (tenant) [bold]{practice.tenant}[/]")
        for number, journey in enumerate(DEMO_JOURNEYS, start=1):
            started = time.monotonic()
            console.rule(f"{number}. {journey.__name__.replace('_', ' ')}")
            result = journey(practice, check)
            _show_kafka(console, result)
            failures += 0 if result.kafka.ok and _all_seen(result) else 1
            console.print(f"  [dim]{time.monotonic() - started:.1f} s[/]")
    except StackNotUp as exc:
        console.print(f"[red]{exc}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    except JourneyError as exc:
        console.print(f"[red]journey stopped: {exc}[/]", soft_wrap=True, highlight=False)
        raise typer.Exit(1) from None
    except Exception as exc:  # Kafka or PostgreSQL not answering the check: say so, briefly
        console.print(
            f"[red]check failed ({type(exc).__name__}): {exc}; is the stack up? "
            "(`careledger stack status`)[/]",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(1) from None
    finally:
        practice.close()
    _where_to_look(console, settings, practice)
    if failures:
        console.print(f"[red]{failures} journey(s) found Kafka and the stores disagreeing[/]")
        raise typer.Exit(1)


def _all_seen(result: JourneyResult) -> bool:
    return all(ce_id in result.kafka.records for ce_id in result.records.values())


def _where_to_look(console: Console, settings: Settings, practice: Practice) -> None:
    console.rule("Where to look")
    for service, url in settings.service_urls.items():
        console.print(f"  {service:>8} API docs: {url.rstrip('/')}/docs", highlight=False)
    console.print(f"\n  Tokens for practice [bold]{practice.tenant}[/] (8 h):")
    for role in ROLES:
        token = practice.tokens.mint(f"demo-{role}", practice.tenant, [role], ttl_seconds=8 * 3600)
        console.print(f"  [bold]{role:>11}[/] {token}", highlight=False, soft_wrap=True)
    console.print(
        "\n  Follow the events: careledger tail careledger.plan --from-beginning", highlight=False
    )
    console.print("  (also careledger.consent and careledger.referral)", highlight=False)
