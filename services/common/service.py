"""What a service is made of, for what starts it: the CLI, the local stack and the relays.

Each service declares one `ServiceSpec` in services/<name>/spec.py and services/registry.py
holds the three, so nothing finds a service's modules by building their names from a string.
The runners below start a service's consumer and read models from its spec; a service's
bootstrap.py only builds its application and its API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from services.common.consumer.inbound import Reactions
from services.common.readmodels.projection import Projection
from services.common.settings import Settings
from services.common.store.application import CareApplication, build_application


@dataclass(frozen=True)
class ServiceSpec:
    """One service: its application, domain, API, reactions and read models."""

    name: str
    application: type[CareApplication]
    domain: ModuleType  # names the service's events: the relay imports it to read the store
    create_app: Callable[[Settings], Any]  # the HTTP API (a FastAPI app)
    reactions: Reactions | None = None  # what it does with other services' records
    projections: Sequence[type[Projection]] = ()
    # The application its consumer saves with (default: the bare application on the store).
    consumer_app: Callable[[Settings], CareApplication] | None = None
    close: Callable[[Any], None] | None = None  # how to close what consumer_app built

    @property
    def domain_modules(self) -> tuple[str, ...]:
        return (self.domain.__name__,)

    def open(self, settings: Settings) -> CareApplication:
        if self.consumer_app is not None:
            return self.consumer_app(settings)
        app: CareApplication = build_application(self.application, settings)
        return app

    def shut(self, app: CareApplication) -> None:
        (self.close or CareApplication.close)(app)


def _reactions(spec: ServiceSpec) -> Reactions:
    if spec.reactions is None:
        raise LookupError(f"the {spec.name} service reacts to no other service's records")
    return spec.reactions


def run_consumer(spec: ServiceSpec, settings: Settings) -> None:
    """`careledger consume <service>`: other services' records -> this one, until SIGTERM."""
    from services.common.consumer.loop import run_consumer as consume

    reactions = _reactions(spec)
    app = spec.open(settings)
    try:
        consume(spec.name, app, reactions, settings)
    finally:
        spec.shut(app)


def retry_consumer(spec: ServiceSpec, settings: Settings, ref: str | None) -> dict[str, int]:
    """`careledger consume <service> --retry`: react again to its quarantined records."""
    from services.common.consumer.quarantine import retry_deadletters

    reactions = _reactions(spec)
    app = spec.open(settings)
    try:
        return retry_deadletters(spec.name, app, reactions, settings, ref)
    finally:
        spec.shut(app)


def run_projections(spec: ServiceSpec, settings: Settings) -> None:
    """`careledger projections run <service>`: keep its read models up to date."""
    from services.common.readmodels.projection_runs import run_projections as run

    run(spec.name, list(spec.projections), settings)
