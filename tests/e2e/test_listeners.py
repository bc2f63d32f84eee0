"""Every listener of the stack binds loopback: APIs, relays, consumers, Kafka, PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from services.common.settings import Settings
from services.stack.state import read_stack_info
from tests.support_listeners import listening, not_loopback

pytestmark = pytest.mark.e2e


def descendants(pid: int) -> set[int]:
    """`pid` and every process below it (a relay's reader, PostgreSQL's backends)."""
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def test_every_process_the_stack_starts_listens_on_loopback_only(
    e2e_settings: Settings, e2e_home: Path
) -> None:
    info = read_stack_info(e2e_home / "stack.json")
    kinds = {name.rsplit("-", 1)[-1] for name in info.pids}
    assert {"api", "relay", "consumer", "projections", "kafka", "postgres"} <= kinds
    pids = {child for pid in info.pids.values() for child in descendants(pid)}
    found = listening(pids)
    ports = {port for _, port in found}
    assert {urlsplit(url).port for url in info.service_urls.values()} <= ports
    assert not_loopback(found) == set(), f"listening beyond loopback: {not_loopback(found)}"
