"""The plan's care team: who treats the unit, in which roles, and for which clients.

A clinician's entry is `{"clinician_id", "roles", "clients"}`. `clients` matters for an
individual therapist in couples or family work: the partner(s) they see alone. An entry from
`PlanCreated` has no `clients`; in a one-person plan the person is implied, otherwise the
individual therapist serves nobody's individual material until their clients are set.
Changes carry a coded reason (no free text: these events travel on Kafka). Each rule returns the
fields of the event to record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.common.errors import Conflict, Forbidden, NotFound, RuleBroken
from services.plan.domain import checks
from services.plan.domain.checks import LEAD_ROLE
from services.plan.domain.commands import AssignClinician, ChangeClinicianRoles, RemoveClinician
from services.plan.domain.formats import CLINICIAN_ROLES
from services.plan.domain.state import PlanState, require_open

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


def served_clients(plan: PlanState, entry: Mapping[str, Any]) -> list[str]:
    """The clients whose individual material this team member treats."""
    clients = entry.get("clients")
    if clients is not None:
        return list(clients)
    if len(plan.members) == 1:
        return [plan.members[0]["client_id"]]
    return []


def team_entry(plan: PlanState, clinician_id: str) -> dict[str, Any] | None:
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


def require_team_manager(plan: PlanState, actor_id: str, actor_role: str) -> None:
    """Coordinators manage caseloads; a clinician changes the team only as its lead."""
    if actor_role == "coordinator":
        return
    entry = team_entry(plan, actor_id)
    if entry is None or LEAD_ROLE[plan.unit_kind] not in entry["roles"]:
        raise Forbidden(
            f"only the plan's {LEAD_ROLE[plan.unit_kind]} or a coordinator changes its care team"
        )


def _clients(plan: PlanState, clients: Sequence[str] | None, roles: Sequence[str]) -> list[str]:
    ids = [m["client_id"] for m in plan.members]
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


def _keeps_lead(plan: PlanState, without: str, roles: Sequence[str] = ()) -> None:
    lead = LEAD_ROLE[plan.unit_kind]
    others = [c for c in plan.clinicians if c["clinician_id"] != without]
    if not any(lead in c["roles"] for c in others) and lead not in roles:
        raise Conflict(f"a {plan.unit_kind} plan needs a {lead}: assign another one first")


def assigned(plan: PlanState, command: AssignClinician) -> dict[str, Any]:
    """A clinician added to the care team."""
    require_open(plan)
    clinician_id = checks.text(command.clinician_id, "clinician_id", limit=100)
    if team_entry(plan, clinician_id) is not None:
        raise Conflict(f"clinician {clinician_id} is already on the care team: change their roles")
    roles = _roles(command.roles)
    return {
        "clinician_id": clinician_id,
        "roles": roles,
        "clients": _clients(plan, command.clients, roles),
        "reason": _reason(command.reason),
    }


def roles_changed(plan: PlanState, command: ChangeClinicianRoles) -> dict[str, Any]:
    """A team member's new roles (and the clients an individual therapist serves)."""
    require_open(plan)
    clinician_id = command.clinician_id
    current = team_entry(plan, clinician_id)
    if current is None:
        raise NotFound(f"clinician {clinician_id} is not on this plan's care team")
    roles = _roles(command.roles)
    chosen = _clients(plan, command.clients, roles)
    if roles == current["roles"] and chosen == (current.get("clients") or []):
        raise RuleBroken("nothing to change", {"roles": "change the roles or the clients"})
    _keeps_lead(plan, clinician_id, roles)
    reason = _reason(command.reason)
    return {"clinician_id": clinician_id, "roles": roles, "clients": chosen, "reason": reason}


def removed(plan: PlanState, command: RemoveClinician) -> dict[str, Any]:
    """A clinician taken off the care team (the plan keeps its lead)."""
    require_open(plan)
    if team_entry(plan, command.clinician_id) is None:
        raise NotFound(f"clinician {command.clinician_id} is not on this plan's care team")
    _keeps_lead(plan, command.clinician_id)
    return {"clinician_id": command.clinician_id, "reason": _reason(command.reason)}
