"""`careledger stack`: idempotent `up`, truthful `status`, `down` that leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from services.stack.stack import executable
from services.stack.state import StackInfo, kafka_libs_dir, pid_alive

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [executable(), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
        check=False,
    )


def separate_env(home: Path) -> dict[str, str]:
    """A stack rooted at `home` that reuses the main stack's Kafka jars (no Maven run)."""
    env = {k: v for k, v in os.environ.items() if k != "CARELEDGER_DATABASE_URL"}
    env["CARELEDGER_HOME"] = str(home)
    env["CARELEDGER_KAFKA_LIBS"] = str(kafka_libs_dir())
    env["COLUMNS"] = "200"
    return env


def test_stack_up_twice_keeps_the_same_processes(stack: StackInfo) -> None:
    second = run("stack", "up", "--infra-only")
    assert second.returncode == 0, second.stdout + second.stderr
    recorded = json.loads(Path(stack.home, "stack.json").read_text())
    assert {n: c["pid"] for n, c in recorded["components"].items()} == stack.pids
    assert all(pid_alive(pid) for pid in stack.pids.values())


def test_status_reports_kafka_and_postgres_running(stack: StackInfo) -> None:
    result = run("stack", "status", env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stdout
    for name in ("kafka", "postgres"):
        line = next(line for line in result.stdout.splitlines() if f" {name} " in line)
        assert "NO" not in line
        assert str(stack.pids[name]) in line


@pytest.mark.slow
def test_separate_stack_up_then_down_leaves_no_process_behind(tmp_path: Path) -> None:
    env = separate_env(tmp_path / "home")
    up = run("stack", "up", env=env)
    assert up.returncode == 0, up.stdout + up.stderr
    info = json.loads((tmp_path / "home" / "stack.json").read_text())
    pids = {n: c["pid"] for n, c in info["components"].items() if c["pid"]}
    assert {"kafka", "postgres"} <= set(pids)
    assert pid_alive(pids["kafka"]) and pid_alive(pids["postgres"])

    down = run("stack", "down", env=env)
    assert down.returncode == 0, down.stdout + down.stderr
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [n for n, p in pids.items() if pid_alive(p)] == []
    assert not (tmp_path / "home" / "stack.json").exists()


def test_up_without_java_names_java_and_starts_nothing(tmp_path: Path) -> None:
    env = separate_env(tmp_path / "home")
    env["PATH"] = str(tmp_path / "empty-bin")  # no java, no mvn
    result = run("stack", "up", "--infra-only", env=env, timeout=60)
    assert result.returncode != 0
    assert "Java" in result.stdout
    assert "apt-get install" in result.stdout
    assert not (tmp_path / "home" / "stack.json").exists()
    assert not (tmp_path / "home" / "kafka").exists()
    assert not (tmp_path / "home" / "pg").exists()
