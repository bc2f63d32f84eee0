"""The three services, by name: what `careledger`, `careledger stack up` and the relays start.

Importing this module imports every service; the CLI does so only in the commands that start
one. services/common never imports it (the kit is below the services): the CLI hands a spec,
or its domain modules, to the kit.
"""

from __future__ import annotations

from services.common.service import ServiceSpec
from services.consent.spec import SPEC as CONSENT
from services.plan.spec import SPEC as PLAN
from services.referral.spec import SPEC as REFERRAL

SPECS: dict[str, ServiceSpec] = {spec.name: spec for spec in (PLAN, CONSENT, REFERRAL)}


def spec_of(name: str) -> ServiceSpec:
    """The spec of service `name`; LookupError naming the services there are."""
    try:
        return SPECS[name]
    except KeyError:
        raise LookupError(f"unknown service {name!r}; choose one of {', '.join(SPECS)}") from None
