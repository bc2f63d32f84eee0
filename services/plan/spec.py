"""The plan service, as the CLI, the local stack and the relays start it."""

from __future__ import annotations

from typing import Any

from services.common.service import ServiceSpec
from services.common.settings import Settings
from services.plan import domain, reactions
from services.plan.application import PlanApplication
from services.plan.projections import PROJECTIONS


def create_app(settings: Settings) -> Any:
    """The plan API (FastAPI and the routers load only in the process that serves it)."""
    from services.plan.bootstrap import create_app as create

    return create(settings)


SPEC = ServiceSpec(
    name="plan",
    application=PlanApplication,
    domain=domain,
    create_app=create_app,
    reactions=reactions,
    projections=PROJECTIONS,
)
