"""Check that the binaries the local stack needs are installed, before starting anything."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

APT_HINT = "apt-get update && apt-get install -y postgresql-15 openjdk-17-jdk-headless maven"


class MissingPrerequisiteError(RuntimeError):
    """A binary the stack needs is not installed."""


def postgres_bindir() -> Path | None:
    """PostgreSQL server binaries: $CARELEDGER_PG_BINDIR, `pg_config --bindir`, or PG 15's dir."""
    candidates: list[Path] = []
    if configured := os.environ.get("CARELEDGER_PG_BINDIR"):
        candidates.append(Path(configured))
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates.append(Path("/usr/lib/postgresql/15/bin"))
    for bindir in candidates:
        if all((bindir / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def check_prerequisites(*, need_postgres: bool) -> Path | None:
    """Return the PostgreSQL bindir (or None if not needed); raise naming what is missing."""
    missing: list[str] = []
    if not shutil.which("java"):
        missing.append("Java 17+ (`java`; apt package openjdk-17-jdk-headless)")
    if not shutil.which("mvn"):
        missing.append("Maven (`mvn`; apt package maven)")
    bindir = postgres_bindir() if need_postgres else None
    if need_postgres and bindir is None:
        missing.append(
            "PostgreSQL 15 server binaries (initdb, pg_ctl, postgres; apt package postgresql-15)"
        )
    if missing:
        raise MissingPrerequisiteError(
            "missing: " + "; ".join(missing) + f". Install with: {APT_HINT}"
        )
    return bindir
