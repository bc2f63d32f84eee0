"""A service's API around its application: the routers, the access log, closing at shutdown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import APIRouter, FastAPI

from services.common.http.access import install_access_log
from services.common.http.app import create_service_app
from services.common.http.idempotency import IdempotencyStore, postgres_idempotency
from services.common.settings import Settings

App = TypeVar("App")


@dataclass(frozen=True)
class ApplicationApi(Generic[App]):
    """A service's `create_app`: its API on the application given (tests), or on one it builds
    from settings (PostgreSQL).

    Without an application given, nor an idempotency store, the requests' idempotency keys
    are kept in PostgreSQL too. The access log (refusals and the compliance log, see
    docs/compliance.md) is the application's; `close` runs at shutdown.
    """

    service: str
    routers: Sequence[APIRouter]
    build: Callable[[Settings], App]
    close: Callable[[App], None]
    description: str

    def __call__(
        self,
        settings: Settings,
        application: App | None = None,
        *,
        idempotency: IdempotencyStore | None = None,
    ) -> FastAPI:
        app = self.build(settings) if application is None else application
        if application is None and idempotency is None:
            idempotency = postgres_idempotency(settings, self.service)
        api = create_service_app(
            self.service,
            settings,
            self.routers,
            description=self.description,
            idempotency=idempotency,
        )
        install_access_log(api, self.service, app)
        api.state.application = app
        close = self.close
        api.router.on_shutdown.append(lambda: close(app))
        return api
