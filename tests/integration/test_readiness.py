"""Readiness against a real broker, and against a listener that never answers (a frozen one)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from services.common.http.readiness import kafka_ready, readiness
from services.common.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def silent_listener() -> Iterator[str]:
    """A port whose kernel completes the TCP handshake, as a SIGSTOPped broker's does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def test_a_broker_that_answers_is_ready(database_url: str, kafka_bootstrap: str) -> None:
    settings = Settings(env="dev", database_url=database_url, kafka_bootstrap=kafka_bootstrap)
    assert readiness(settings) == {"postgres": True, "kafka": True}


def test_a_broker_that_takes_connections_but_does_not_answer_is_not_ready(
    silent_listener: str,
) -> None:
    assert kafka_ready(Settings(env="dev", kafka_bootstrap=silent_listener), timeout=1.0) is False


def test_no_broker_listening_is_not_ready() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    assert kafka_ready(Settings(env="dev", kafka_bootstrap=closed), timeout=1.0) is False


def test_failed_probes_leave_no_client_thread_behind(silent_listener: str) -> None:
    settings = Settings(env="dev", kafka_bootstrap=silent_listener)
    before = threading.active_count()
    for _ in range(3):
        assert kafka_ready(settings, timeout=0.5) is False
    assert threading.active_count() == before, [t.name for t in threading.enumerate()]
