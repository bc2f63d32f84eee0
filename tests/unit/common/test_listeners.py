"""The relay's metrics server listens on loopback unless told otherwise."""

from __future__ import annotations

import os
import socket

from services.common.relay.status import serve_metrics
from tests.support_listeners import listening, not_loopback


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_relay_metrics_server_binds_loopback_by_default() -> None:
    port = free_port()
    serve_metrics(port)
    mine = listening({os.getpid()})
    assert ("127.0.0.1", port) in mine
    assert not_loopback(mine) == set()
