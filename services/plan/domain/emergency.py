"""Break-glass for access: a clinician outside the care team reads a plan in an emergency.

Same shape as the consent service's break-glass: a justification, a limited time, and always
the compliance review queue. The grant is an event on the plan, so the read policy finds it in
the plan itself; every read made under it is an access event marked `break_glass`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from uuid import uuid4

from services.common.errors import Conflict, NotFound, RuleBroken
from services.plan.domain import checks
from services.plan.domain.care_team import team_entry

BREAK_GLASS_HOURS = 8
FINDINGS = ("justified", "not-justified", "needs-follow-up")
_Apply = Callable[..., None]


class EmergencyAccessCommands:
    """Grant and review emergency access (mixed into `Plan`)."""

    access_grants: list[dict[str, Any]]
    _emergency_access_granted: _Apply
    _emergency_access_reviewed: _Apply

    def grant_emergency_access(
        self, *, clinician_id: str, justification: str, now: dt.datetime
    ) -> dict[str, Any]:
        """Open emergency access for a clinician outside the team; returns the grant."""
        if team_entry(self, clinician_id) is not None:
            raise Conflict("you are on this plan's care team: read it without break-glass")
        grant = {
            "grant_id": str(uuid4()),
            "clinician_id": clinician_id,
            "justification": checks.text(justification, "justification", limit=2000),
            "granted_at": now,
            "until": now + dt.timedelta(hours=BREAK_GLASS_HOURS),
        }
        self._emergency_access_granted(**grant)
        return grant

    def review_emergency_access(self, grant_id: str, *, finding: str, reviewed_by: str) -> None:
        """Close a grant's compliance review with a finding."""
        grant = next((g for g in self.access_grants if g["grant_id"] == grant_id), None)
        if grant is None:
            raise NotFound(f"no break-glass grant {grant_id} on this plan")
        if grant.get("finding"):
            raise Conflict(f"break-glass grant {grant_id} was already reviewed")
        if finding not in FINDINGS:
            raise RuleBroken("unknown finding", {"finding": f"give one of {', '.join(FINDINGS)}"})
        self._emergency_access_reviewed(grant_id=grant_id, finding=finding, reviewed_by=reviewed_by)
