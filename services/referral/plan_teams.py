"""The referral service's copy of each plan's care team, kept from `careledger.plan` records.

A plan's PlanCreated opens its `PlanTeam`; ClinicianAssigned, ClinicianRolesChanged and
ClinicianRemoved change it; EmergencyAccessGranted adds a break-glass grant. A record seen
before (by ce_id) changes nothing. The referral read policy reads these teams.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from contracts.records import InboundRecord
from services.referral.domain.plan_team import PlanTeam

TEAM_EVENTS = frozenset(
    {
        "PlanCreated",
        "ClinicianAssigned",
        "ClinicianRolesChanged",
        "ClinicianRemoved",
        "EmergencyAccessGranted",
    }
)


def _members(body: Mapping[str, Any]) -> list[str]:
    return [str(m["client_id"]) for m in body.get("members") or ()]


def _clinicians(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "clinician_id": str(c["clinician_id"]),
            "roles": list(c.get("roles") or ()),
            "clients": list(c.get("clients") or ()),
        }
        for c in body.get("clinicians") or ()
    ]


def note_team(team: PlanTeam | None, record: InboundRecord) -> list[Any]:
    """The changed (unsaved) team for one plan record, or nothing."""
    body, name = record.body, record.event_name
    if name == "PlanCreated":
        if team is not None:
            return []
        plan_id = UUID(str(body.get("id") or record.subject))
        return [
            PlanTeam(
                tenant=record.tenant,
                plan_id=plan_id,
                member_ids=_members(body),
                clinicians=_clinicians(body),
                record_id=record.ce_id,
            )
        ]
    if team is None or team.seen(record.ce_id):
        return []  # a team of a plan created before teams were kept: nothing to change
    clinician = str(body["clinician_id"])
    if name in ("ClinicianAssigned", "ClinicianRolesChanged"):
        clients = list(body.get("clients") or ())
        team.note_member(
            clinician_id=clinician,
            roles=list(body["roles"]),
            clients=clients,
            record_id=record.ce_id,
        )
    elif name == "ClinicianRemoved":
        team.note_leaving(clinician_id=clinician, record_id=record.ce_id)
    else:
        until = dt.datetime.fromisoformat(str(body["until"]))
        team.note_grant(clinician_id=clinician, until=until, record_id=record.ce_id)
    return [team]
