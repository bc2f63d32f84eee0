"""The plan's care team: who treats the unit, in which roles, and for which clients.

A clinician's entry is `{"clinician_id", "roles", "clients"}`. `clients` matters for an
individual therapist in couples or family work: the partner(s) they see alone. An entry from
`PlanCreated` has no `clients`; in a one-person plan the person is implied, otherwise the
individual therapist serves nobody's individual material until their clients are set.
Changes carry a coded reason (no free text: these events travel on Kafka).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.common.errors import Conflict, Forbidden, NotFound, RuleBroken
from services.plan.domain import checks
from services.plan.domain.checks import LEAD_ROLE
from services.plan.domain.formats import CLINICIAN_ROLES

TEAM_CHANGE_REASONS = (
    "intake",
    "caseload-change",
    "clinician-leaving",
    "client-request",
    "specialist-needed",
    "conflict-of-interest",
    "coverage",
    "entered-in-error",
)
_Apply = Callable[..., None]


def served_clients(plan: Any, entry: Mapping[str, Any]) -> list[str]:
    """The clients whose individual material this team member treats."""
    clients = entry.get("clients")
    if clients is not None:
        return list(clients)
    if len(plan.members) == 1:
        return [plan.members[0]["client_id"]]
    return []


def team_entry(plan: Any, clinician_id: str) -> dict[str, Any] | None:
    for entry in plan.clinicians:
        if entry["clinician_id"] == clinician_id:
            return dict(entry)
    return None


def _reason(reason: str) -> str:
    if reason not in TEAM_CHANGE_REASONS:
        raise RuleBroken(
            "unknown care-team change reason",
            {"reason": f"give one of {', '.join(TEAM_CHANGE_REASONS)}"},
        )
    return reason


def _roles(roles: Sequence[str]) -> list[str]:
    checked = list(dict.fromkeys(roles))
    bad = [r for r in checked if r not in CLINICIAN_ROLES]
    if not checked or bad:
        raise RuleBroken(
            "unknown clinician role", {"roles": f"give roles from {', '.join(CLINICIAN_ROLES)}"}
        )
    return checked


def require_team_manager(plan: Any, actor_id: str, actor_role: str) -> None:
    """Coordinators manage caseloads; a clinician changes the team only as its lead."""
    if actor_role == "coordinator":
        return
    entry = team_entry(plan, actor_id)
    if entry is None or LEAD_ROLE[plan.unit_kind] not in entry["roles"]:
        raise Forbidden(
            f"only the plan's {LEAD_ROLE[plan.unit_kind]} or a coordinator changes its care team"
        )


class CareTeamCommands:
    """Assign, change and remove care-team members (mixed into `Plan`)."""

    unit_kind: str
    members: list[dict[str, Any]]
    clinicians: list[dict[str, Any]]
    _clinician_assigned: _Apply
    _clinician_roles_changed: _Apply
    _clinician_removed: _Apply
    require_open: Callable[[], None]  # PlanCommands.require_open

    def _clients(self, clients: Sequence[str] | None, roles: Sequence[str]) -> list[str]:
        ids = [m["client_id"] for m in self.members]
        chosen = list(dict.fromkeys(clients or ()))
        unknown = [c for c in chosen if c not in ids]
        if unknown:
            raise RuleBroken(
                "not a member of this plan",
                {"clients": f"give client ids of the plan: {', '.join(ids)}"},
            )
        if chosen and "individual-therapist" not in roles:
            raise RuleBroken(
                "clients are for individual therapists",
                {"clients": "name clients only with the individual-therapist role"},
            )
        return chosen

    def _keeps_lead(self, without: str, roles: Sequence[str] = ()) -> None:
        lead = LEAD_ROLE[self.unit_kind]
        others = [c for c in self.clinicians if c["clinician_id"] != without]
        if not any(lead in c["roles"] for c in others) and lead not in roles:
            raise Conflict(f"a {self.unit_kind} plan needs a {lead}: assign another one first")

    def assign_clinician(
        self,
        *,
        clinician_id: str,
        roles: Sequence[str],
        reason: str,
        clients: Sequence[str] | None = None,
    ) -> None:
        """Add a clinician to the care team."""
        self.require_open()
        clinician_id = checks.text(clinician_id, "clinician_id", limit=100)
        if team_entry(self, clinician_id) is not None:
            raise Conflict(
                f"clinician {clinician_id} is already on the care team: change their roles"
            )
        checked = _roles(roles)
        self._clinician_assigned(
            clinician_id=clinician_id,
            roles=checked,
            clients=self._clients(clients, checked),
            reason=_reason(reason),
        )

    def change_clinician_roles(
        self,
        clinician_id: str,
        *,
        roles: Sequence[str],
        reason: str,
        clients: Sequence[str] | None = None,
    ) -> None:
        """Change a team member's roles (and the clients an individual therapist serves)."""
        self.require_open()
        current = team_entry(self, clinician_id)
        if current is None:
            raise NotFound(f"clinician {clinician_id} is not on this plan's care team")
        checked = _roles(roles)
        chosen = self._clients(clients, checked)
        if checked == current["roles"] and chosen == (current.get("clients") or []):
            raise RuleBroken("nothing to change", {"roles": "change the roles or the clients"})
        self._keeps_lead(clinician_id, checked)
        self._clinician_roles_changed(
            clinician_id=clinician_id, roles=checked, clients=chosen, reason=_reason(reason)
        )

    def remove_clinician(self, clinician_id: str, *, reason: str) -> None:
        """Take a clinician off the care team (the plan keeps its lead)."""
        self.require_open()
        if team_entry(self, clinician_id) is None:
            raise NotFound(f"clinician {clinician_id} is not on this plan's care team")
        self._keeps_lead(clinician_id)
        self._clinician_removed(clinician_id=clinician_id, reason=_reason(reason))
