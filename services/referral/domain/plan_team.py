"""The care team of a plan, as the referral service learns it from the plan service's records.

The plan service owns the team; the referral service keeps a copy (one `PlanTeam` per plan,
fed by `careledger.plan` records: PlanCreated, the care-team events and break-glass grants) so
its read policy can place a caller against the plan a referral serves without asking the plan
service on every read. Only ids, roles and times: nothing clinical.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.common.events import published

_NAMESPACE = uuid.UUID("a3d5a7e2-51c4-4b7e-9f0b-3e6f6f2f7c10")
LEADS = frozenset({"couples-therapist", "family-therapist"})
INDIVIDUAL = "individual-therapist"
_TEAM = ("N", "BH")


def with_member(clinicians: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The team's clinicians once `entry` joined (or replaced the clinician's earlier entry)."""
    return [*(c for c in clinicians if c["clinician_id"] != entry["clinician_id"]), entry]


def without_member(clinicians: list[dict[str, Any]], clinician_id: str) -> list[dict[str, Any]]:
    return [c for c in clinicians if c["clinician_id"] != clinician_id]


class TeamRules:
    """Where a clinician stands on a team: what the read policy asks of `PlanTeam` and of the
    read model's copies of it (team_rows.py)."""

    members: list[str]
    clinicians: list[dict[str, Any]]
    grants: list[dict[str, Any]]

    def entry(self, clinician_id: str) -> dict[str, Any] | None:
        return next((c for c in self.clinicians if c["clinician_id"] == clinician_id), None)

    def serves(self, clinician_id: str, client_id: str | None) -> bool:
        """Whether this team member treats `client_id` (the unit's lead treats every member)."""
        entry = self.entry(clinician_id)
        if entry is None:
            return False
        if LEADS & set(entry["roles"]):
            return True
        if INDIVIDUAL not in entry["roles"]:
            return False  # a team member who only coordinates
        return len(self.members) == 1 or client_id in (entry.get("clients") or ())

    def grant_in_force(self, clinician_id: str, now: dt.datetime) -> bool:
        return any(g["clinician_id"] == clinician_id and g["until"] > now for g in self.grants)


class PlanTeam(TeamRules, Aggregate):
    """Who treats the unit of one plan, in which roles, for which clients; and open grants."""

    @staticmethod
    def create_id(plan_id: UUID | str) -> UUID:
        return uuid.uuid5(_NAMESPACE, str(plan_id))

    @published(labels=_TEAM)
    @event("PlanTeamNoted")
    def __init__(
        self,
        *,
        tenant: str,
        plan_id: UUID,
        member_ids: list[str],
        clinicians: list[dict[str, Any]],
        record_id: str,
    ) -> None:
        self.tenant = tenant
        self.plan_id = plan_id
        self.members = list(member_ids)
        self.clinicians = [dict(c) for c in clinicians]
        self.grants: list[dict[str, Any]] = []
        self.noted = [record_id]

    def seen(self, record_id: str) -> bool:
        return record_id in self.noted

    def note_member(
        self, *, clinician_id: str, roles: list[str], clients: list[str], record_id: str
    ) -> None:
        """A clinician joined the team or their roles or clients changed."""
        self._member_noted(
            clinician_id=clinician_id, roles=list(roles), clients=list(clients), record_id=record_id
        )

    def note_leaving(self, *, clinician_id: str, record_id: str) -> None:
        self._member_left(clinician_id=clinician_id, record_id=record_id)

    def note_grant(self, *, clinician_id: str, until: dt.datetime, record_id: str) -> None:
        """A clinician outside the team opened break-glass access to the plan until `until`."""
        self._grant_noted(clinician_id=clinician_id, until=until, record_id=record_id)

    @published(labels=_TEAM)
    @event("PlanTeamMemberNoted")
    def _member_noted(
        self, clinician_id: str, roles: list[str], clients: list[str], record_id: str
    ) -> None:
        entry = {"clinician_id": clinician_id, "roles": roles, "clients": clients}
        self.clinicians = with_member(self.clinicians, entry)
        self.noted = [*self.noted, record_id]

    @published(labels=_TEAM)
    @event("PlanTeamMemberLeft")
    def _member_left(self, clinician_id: str, record_id: str) -> None:
        self.clinicians = without_member(self.clinicians, clinician_id)
        self.noted = [*self.noted, record_id]

    @published(labels=["R", "BH"])
    @event("PlanEmergencyAccessNoted")
    def _grant_noted(self, clinician_id: str, until: dt.datetime, record_id: str) -> None:
        self.grants = [*self.grants, {"clinician_id": clinician_id, "until": until}]
        self.noted = [*self.noted, record_id]
