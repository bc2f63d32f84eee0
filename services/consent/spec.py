"""The consent service, as the CLI, the local stack and the relays start it."""

from __future__ import annotations

from typing import Any

from services.common.service import ServiceSpec
from services.common.settings import Settings
from services.consent import domain, reactions
from services.consent.application import ConsentApplication
from services.consent.projections import PROJECTIONS


def create_app(settings: Settings) -> Any:
    """The consent API (FastAPI and the routers load only in the process that serves it)."""
    from services.consent.bootstrap import create_app as create

    return create(settings)


def consumer_app(settings: Settings) -> ConsentApplication:
    """Its reaction records a disclosure, which looks up the records a referral names."""
    from services.consent.bootstrap import build_consents

    return build_consents(settings)


def close(app: ConsentApplication) -> None:
    from services.consent.bootstrap import close_consents

    close_consents(app)


SPEC = ServiceSpec(
    name="consent",
    application=ConsentApplication,
    domain=domain,
    create_app=create_app,
    reactions=reactions,
    projections=PROJECTIONS,
    consumer_app=consumer_app,
    close=close,
)
