"""What the referral's rules read of a referral (pure, no aggregate).

`Referral` satisfies `ReferralState`; the rules take a `ReferralState`, so they are plain
functions over plain data, testable without the aggregate and with no import of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol
from uuid import UUID

from services.referral.domain.lifecycle import State


class ReferralState(Protocol):
    """The state of one referral, as its events left it."""

    plan_id: UUID
    client_id: str | None
    referral_type: str
    priority: str
    organization: dict[str, Any] | None
    categories: list[str]
    security_labels: list[str]
    state: State
    appointment_at: dt.datetime | None
    note: str | None
