"""Bring the real local stack up once per session (`careledger stack up --infra-only`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.stack.stack import executable, status
from services.stack.state import StackInfo, read_stack_info

REPO = Path(__file__).resolve().parents[2]


def _infra_running() -> bool:
    rows = {r.name: r for r in status()}
    return all(n in rows and rows[n].alive and rows[n].answers for n in ("kafka", "postgres"))


@pytest.fixture(scope="session")
def stack() -> Iterator[StackInfo]:
    """Connection facts of the running infra; started here if it is not running yet."""
    if not _infra_running():
        result = subprocess.run(
            [executable(), "stack", "up", "--infra-only"],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"stack up failed:\n{result.stdout}\n{result.stderr}"
    yield read_stack_info()


@pytest.fixture(scope="session")
def database_url(stack: StackInfo) -> str:
    return stack.database_url


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: StackInfo) -> str:
    return stack.kafka_bootstrap
