"""The referral domain: pure Python, no framework or I/O."""

from services.common.events import name_events
from services.referral.domain.lifecycle import STATES, TRANSITIONS, State, Step, allowed_steps
from services.referral.domain.plan_team import PlanTeam
from services.referral.domain.referral import Referral
from services.referral.domain.service_levels import Deadline, ServiceLevels
from services.referral.domain.vocabulary import (
    OUTCOMES,
    PRIORITIES,
    REFERRAL_TYPES,
    SUBSTANCE_USE_TYPES,
)

name_events("referral", Referral, PlanTeam)

__all__ = [
    "OUTCOMES",
    "PRIORITIES",
    "REFERRAL_TYPES",
    "STATES",
    "SUBSTANCE_USE_TYPES",
    "TRANSITIONS",
    "Deadline",
    "PlanTeam",
    "Referral",
    "ServiceLevels",
    "State",
    "Step",
    "allowed_steps",
]
