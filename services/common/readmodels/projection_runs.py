"""Projections as processes and commands: run, rebuild, status and retry.

`careledger projections run <service>` keeps a service's read models up to date; `rebuild`
drops and replays one; `status` shows each read model's position, lag and quarantined events;
`retry` applies quarantined events again after a fix (projection.py, quarantine.py).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, TypeVar

import psycopg
import structlog
from eventsourcing.persistence import InterfaceError, OperationalError

from services.common import quarantine
from services.common.readmodels.projection import Projection, ProjectionRunner
from services.common.readmodels.readstore import ReadStore
from services.common.settings import Settings
from services.common.store.application import CareApplication, build_application

log = structlog.get_logger(__name__)


def find_projection(name: str, candidates: Sequence[type[Projection]]) -> type[Projection]:
    """The projection called `name` among `candidates` (the CLI hands every service's, from
    the ServiceSpecs of services/registry.py); LookupError naming the known ones."""
    for cls in candidates:
        if cls.name == name:
            return cls
    known = ", ".join(sorted(p.name for p in candidates)) or "none"
    raise LookupError(f"no projection named {name!r}; known: {known}")


def reader_app(schema: str, settings: Settings) -> CareApplication:
    """An application that reads `schema`'s event store.

    The events are named by the service's domain modules, which its ServiceSpec imports: the
    caller holds the spec (or, in tests, the projection's own events are plain).
    """
    app_cls = type(f"{schema.title()}Reader", (CareApplication,), {"name": schema})
    app: CareApplication = build_application(app_cls, settings)
    return app


def rebuild(name: str, settings: Settings, *, candidates: Sequence[type[Projection]]) -> int:
    """`careledger projections rebuild <name>`: drop, recreate, replay; returns events replayed."""
    cls = find_projection(name, candidates)
    app, store = reader_app(cls.schema, settings), ReadStore.from_settings(settings)
    try:
        return ProjectionRunner(cls(store), app, store).rebuild()
    finally:
        store.close()
        app.close()


T = TypeVar("T")
STORE_DOWN = (psycopg.OperationalError, OperationalError, InterfaceError)


def _until_store_answers(call: Callable[[], T]) -> T:
    """`call()`, again with backoff while PostgreSQL does not answer: a runner that starts
    during an outage (or a failover) waits for the store instead of exiting."""
    backoff = 0.5
    while True:
        try:
            return call()
        except STORE_DOWN as exc:
            log.warning("projection.store_down", error=type(exc).__name__)
            time.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


def run_projections(
    service: str,
    projections: Sequence[type[Projection]],
    settings: Settings,
    *,
    poll_interval_s: float = 0.5,
    until: Callable[[], bool] | None = None,
) -> None:
    """Keep `projections` (the service's, from its spec) up to date until SIGTERM/SIGINT."""
    stopping: list[bool] = []
    if until is None:

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stopping.append(True)

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    app = _until_store_answers(lambda: reader_app(service, settings))
    store = ReadStore.from_settings(settings)
    runners = [ProjectionRunner(cls(store), app, store) for cls in projections]
    backoff = poll_interval_s
    try:
        for runner in runners:
            _until_store_answers(runner.ensure_tables)
        while not stopping and not (until is not None and until()):
            try:
                applied = sum(runner.run_once() for runner in runners)
                backoff = poll_interval_s
            except STORE_DOWN as exc:
                log.warning("projection.retrying", service=service, error=type(exc).__name__)
                applied, backoff = 0, min(backoff * 2, 10.0)
            if not applied:
                time.sleep(backoff)
    finally:
        store.close()
        app.close()


def retry(
    name: str,
    settings: Settings,
    *,
    position: int | None = None,
    candidates: Sequence[type[Projection]],
) -> tuple[int, int]:
    """`careledger projections retry <name>`: apply its quarantined events again."""
    cls = find_projection(name, candidates)
    app, store = reader_app(cls.schema, settings), ReadStore.from_settings(settings)
    try:
        runner = ProjectionRunner(cls(store), app, store)
        runner.ensure_tables()
        return runner.retry(position)
    finally:
        store.close()
        app.close()


def status(
    service: str, settings: Settings, *, candidates: Sequence[type[Projection]]
) -> list[dict[str, Any]]:
    """`careledger projections status`: each read model's position, lag and quarantine."""
    classes = list(candidates)
    if not classes:
        return []
    app, store = reader_app(service, settings), ReadStore.from_settings(settings)
    try:
        highest = int(app.recorder.max_notification_id() or 0)
        rows = []
        for cls in classes:
            runner = ProjectionRunner(cls(store), app, store)
            runner.ensure_tables()
            position = runner.position()
            held = quarantine.listing(settings.database_url, cls.schema, runner.source)
            rows.append(
                {
                    "projection": cls.name,
                    "service": service,
                    "position": position,
                    "max_notification_id": highest,
                    "lag": max(0, highest - position),
                    "quarantined": held,
                }
            )
        return rows
    finally:
        store.close()
        app.close()
