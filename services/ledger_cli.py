"""`careledger ledger verify`: check that no stored event was altered or removed since stored."""

from __future__ import annotations

import json

import psycopg
import typer

from services.common.settings import Settings
from services.common.store.chain import events_table, verify_chain


def verify(settings: Settings, service: str) -> int:
    """Print each finding as a JSON line, then a summary; the exit code (0 clean, 1, 2)."""
    if not settings.database_url:
        typer.echo("no database configured: set CARELEDGER_DATABASE_URL", err=True)
        return 2
    try:
        with psycopg.connect(settings.database_url) as conn:
            count, findings = verify_chain(conn, *events_table(service))
    except psycopg.Error as exc:
        typer.echo(f"the {service} store could not be read: {exc}", err=True)
        return 2
    for finding in findings:
        typer.echo(json.dumps(finding.as_dict()))
    summary = {"service": service, "events": count, "findings": len(findings)}
    typer.echo(json.dumps(summary | {"ok": not findings}))
    return 1 if findings else 0
