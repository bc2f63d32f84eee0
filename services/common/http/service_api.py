"""A service's API around its application: the routers, the access log, closing at shutdown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from fastapi import APIRouter, FastAPI

from services.common.http.access import install_access_log
from services.common.http.app import create_service_app
from services.common.http.idempotency import IdempotencyStore, postgres_idempotency
from services.common.settings import Settings

App = TypeVar("App")


def application_api(
    service: str,
    settings: Settings,
    routers: Sequence[APIRouter],
    *,
    application: App | None,
    build: Callable[[Settings], App],
    close: Callable[[App], None],
    description: str,
    idempotency: IdempotencyStore | None,
) -> FastAPI:
    """The service's API on `application`, or on one built from settings (PostgreSQL).

    Without an application given, nor an idempotency store, the requests' idempotency keys
    are kept in PostgreSQL too. The access log (refusals and the compliance log, see
    docs/compliance.md) is the application's; `close` runs at shutdown.
    """
    app = build(settings) if application is None else application
    if application is None and idempotency is None:
        idempotency = postgres_idempotency(settings, service)
    api = create_service_app(
        service, settings, routers, description=description, idempotency=idempotency
    )
    install_access_log(api, service, app)
    api.state.application = app
    api.router.on_shutdown.append(lambda: close(app))
    return api
