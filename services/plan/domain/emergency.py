"""Break-glass for access: a clinician outside the care team reads a plan in an emergency.

Same shape as the consent service's break-glass: a justification, a limited time, and always
the compliance review queue. The grant is an event on the plan, so the read policy finds it in
the plan itself; every read made under it is an access event marked `break_glass`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import uuid4

from services.common.errors import Conflict, NotFound, RuleBroken
from services.plan.domain import checks
from services.plan.domain.care_team import team_entry
from services.plan.domain.commands import BreakGlass, ReviewBreakGlass
from services.plan.domain.state import PlanState

BREAK_GLASS_HOURS = 8
FINDINGS = ("justified", "not-justified", "needs-follow-up")


def granted(
    plan: PlanState, command: BreakGlass, *, clinician_id: str, now: dt.datetime
) -> dict[str, Any]:
    """Emergency access for a clinician outside the team, for a limited time."""
    if team_entry(plan, clinician_id) is not None:
        raise Conflict("you are on this plan's care team: read it without break-glass")
    return {
        "grant_id": str(uuid4()),
        "clinician_id": clinician_id,
        "justification": checks.text(command.justification, "justification", limit=2000),
        "granted_at": now,
        "until": now + dt.timedelta(hours=BREAK_GLASS_HOURS),
    }


def reviewed(plan: PlanState, command: ReviewBreakGlass, *, reviewed_by: str) -> dict[str, Any]:
    """A grant's compliance review closed with a finding."""
    grant_id = command.grant_id
    grant = next((g for g in plan.access_grants if g["grant_id"] == grant_id), None)
    if grant is None:
        raise NotFound(f"no break-glass grant {grant_id} on this plan")
    if grant.get("finding"):
        raise Conflict(f"break-glass grant {grant_id} was already reviewed")
    if command.finding not in FINDINGS:
        raise RuleBroken("unknown finding", {"finding": f"give one of {', '.join(FINDINGS)}"})
    return {"grant_id": grant_id, "finding": command.finding, "reviewed_by": reviewed_by}
