"""The referral service, as the CLI, the local stack and the relays start it."""

from __future__ import annotations

from typing import Any

from services.common.service import ServiceSpec
from services.common.settings import Settings
from services.referral import domain, reactions
from services.referral.application import ReferralApplication
from services.referral.projections import PROJECTIONS


def create_app(settings: Settings) -> Any:
    """The referral API (FastAPI and the routers load only in the process that serves it)."""
    from services.referral.bootstrap import create_app as create

    return create(settings)


SPEC = ServiceSpec(
    name="referral",
    application=ReferralApplication,
    domain=domain,
    create_app=create_app,
    reactions=reactions,
    projections=PROJECTIONS,
)
