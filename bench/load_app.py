"""App factories for trying uvicorn options `careledger serve` does not expose (bench only).

    CARELEDGER_HOME=... .venv/bin/uvicorn --factory bench.load_app:referral --workers 2 \
        --port 18100 --log-level warning --no-access-log

Each worker builds its own application (pools, read model) from the environment, as
`careledger serve <service>` does in its single process.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.common.logging import configure_logging
from services.common.settings import load_settings


def _create(service: str) -> FastAPI:
    settings = load_settings()
    configure_logging(settings.log_level)
    module = __import__(f"services.{service}.bootstrap", fromlist=["create_app"])
    api: FastAPI = module.create_app(settings)
    return api


def plan() -> FastAPI:
    return _create("plan")


def consent() -> FastAPI:
    return _create("consent")


def referral() -> FastAPI:
    return _create("referral")
