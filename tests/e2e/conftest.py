"""A private full stack for the end-to-end tests: every API, relay, consumer and projection.

`careledger stack up` (not --infra-only) under a temporary CARELEDGER_HOME, once per session,
and `careledger stack down` at the end. The broker jars are shared with the main checkout
(`.local/kafka-libs`) when they are there, so no second Maven download.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.common.auth.callers import TokenService
from services.common.settings import Settings
from services.demo.cli import kafka_checker
from services.demo.client import Practice
from services.demo.couple import JourneyResult
from services.demo.kafka_check import KafkaReport
from services.stack.stack import executable

REPO = Path(__file__).resolve().parents[2]
# What the main checkout's environment may point at; the private stack must not inherit it.
NOT_INHERITED = (
    "CARELEDGER_HOME",
    "CARELEDGER_DATABASE_URL",
    "CARELEDGER_KAFKA_BOOTSTRAP",
    "CARELEDGER_SERVICE_URLS",
    "CARELEDGER_CONSENT_URL",
)


def _stack_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(CARELEDGER_HOME=str(home), CARELEDGER_ENV="dev")
    libs = Path(os.environ.get("CARELEDGER_KAFKA_LIBS") or REPO / ".local" / "kafka-libs")
    if libs.is_dir() and any(libs.glob("*.jar")):
        env["CARELEDGER_KAFKA_LIBS"] = str(libs)
    return env


def _stack(command: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [executable(), "stack", command],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def e2e_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's private stack lives (its logs under `logs/`)."""
    return tmp_path_factory.mktemp("e2e-stack")


@pytest.fixture(scope="session")
def e2e_settings(e2e_home: Path) -> Iterator[Settings]:
    """Settings of a private stack started for this session (stopped at the end)."""
    home = e2e_home
    env = _stack_env(home)
    started = time.monotonic()
    try:
        up = _stack("up", env, timeout=300)
        assert up.returncode == 0, f"stack up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
        info = json.loads((home / "stack.json").read_text())
        print(f"\nprivate stack up in {time.monotonic() - started:.0f} s under {home}")
        yield Settings(
            env="dev",
            database_url=info["database_url"],
            kafka_bootstrap=info["kafka_bootstrap"],
            service_urls=info["service_urls"],
        )
    finally:
        down = _stack("down", env, timeout=180)
        assert down.returncode == 0, f"stack down failed:\n{down.stdout}\n{down.stderr}"
        for data in ("kafka", "pg"):  # the logs stay, for a failed run's post-mortem
            shutil.rmtree(home / data, ignore_errors=True)


@pytest.fixture
def practice(e2e_settings: Settings) -> Iterator[Practice]:
    """A new practice (tenant) on the private stack, its services answering."""
    practice = Practice(e2e_settings.service_urls, TokenService(e2e_settings))
    deadline = time.monotonic() + 60
    while True:
        try:
            practice.check_up()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    yield practice
    practice.close()


@pytest.fixture(scope="session")
def whole_store_check(e2e_settings: Settings) -> Callable[[JourneyResult], KafkaReport]:
    """The Kafka check over the whole private store (every tenant, every service)."""
    return kafka_checker(e2e_settings, whole_store=True, timeout=60)
