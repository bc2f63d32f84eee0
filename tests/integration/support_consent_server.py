"""A real consent service over HTTP on the real PostgreSQL, for services that ask it.

The consent API runs in a uvicorn server on a free local port, on a ConsentApplication stored
in the PostgreSQL schema given (the caller creates and drops it).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from services.common.settings import load_settings
from services.common.store.application import build_application
from services.consent.application import ConsentApplication
from services.consent.bootstrap import create_app as create_consent_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def consent_service(database_url: str, schema: str) -> Iterator[str]:
    """The URL of a consent API serving from `schema` until the block ends."""
    settings = load_settings(database_url=database_url, env="dev")
    cls = type("ConsentOnStack", (ConsentApplication,), {"name": schema})
    consent: ConsentApplication = build_application(cls, settings, create_table=True)
    config = uvicorn.Config(
        create_consent_app(settings, consent),
        host="127.0.0.1",
        port=free_port(),
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the consent service did not start"
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        consent.close()
