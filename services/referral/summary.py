"""One summary per referral, folded from its events: what the worklist and metrics read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from contracts.records import to_json_value
from services.referral.domain.lifecycle import STATES, State


@dataclass
class ReferralSummary:
    """What the worklist and metrics need to know of one referral (ids and dates, no PHI)."""

    id: str
    tenant: str
    plan_id: str
    client_id: str
    referral_type: str
    priority: str
    origin: str
    coordinator_id: str | None
    organization_id: str | None
    state: State
    created_at: dt.datetime
    version: int = 1
    sent_at: dt.datetime | None = None
    acknowledge_by: dt.datetime | None = None
    first_appointment_by: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    declined_at: dt.datetime | None = None
    first_appointment_at: dt.datetime | None = None
    appointment_at: dt.datetime | None = None
    appointments: int = 0
    no_shows: int = 0
    attended_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    outcome: str | None = None
    blocked: dict[str, Any] | None = None
    updated_at: dt.datetime | None = None

    @property
    def final(self) -> bool:
        return STATES[self.state].final


def _when(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def fold(
    summaries: dict[str, ReferralSummary],
    name: str,
    rid: str,
    version: int,
    body: Mapping[str, Any],
) -> None:
    """Apply one stored event (by name, with its decoded state) to the summaries."""
    at = _when(body.get("at") or body["timestamp"])  # when the step happened, else when stored
    assert at is not None
    if name == "ReferralDrafted":
        org = body.get("organization") or {}
        summaries[rid] = ReferralSummary(
            id=rid,
            tenant=body["tenant"],
            plan_id=str(body["plan_id"]),
            client_id=body["client_id"],
            referral_type=body["referral_type"],
            priority=body["priority"],
            origin=body["origin"],
            coordinator_id=body.get("coordinator_id"),
            organization_id=_str(org.get("id")),
            state=State.DRAFT,
            created_at=at,
            updated_at=at,
        )
        return
    summary = summaries.get(rid)
    if summary is None:
        return
    summary.version = version
    summary.updated_at = at
    if "state" in body:
        summary.state = State(body["state"])
    _apply_step(summary, name, body, at)


def _apply_step(s: ReferralSummary, name: str, body: Mapping[str, Any], at: dt.datetime) -> None:
    if name == "ReferralRevised":
        org = body.get("organization") or {}
        s.referral_type, s.priority = body["referral_type"], body["priority"]
        s.coordinator_id, s.organization_id = body.get("coordinator_id"), _str(org.get("id"))
    elif name == "ReferralSendBlocked":
        s.blocked = {k: body.get(k) for k in ("decision_id", "outcome", "missing")}
    elif name == "ReferralSent":
        s.state, s.sent_at, s.blocked = State.REQUESTED, at, None
        s.acknowledge_by = _when(body["acknowledge_by"])
        s.first_appointment_by = _when(body["first_appointment_by"])
    elif name in ("ReferralReceived", "ReferralAccepted", "ReferralDeclined"):
        s.acknowledged_at = s.acknowledged_at or at
        if name == "ReferralAccepted":
            s.accepted_at = at
        elif name == "ReferralDeclined":
            s.declined_at = at
    elif name == "AppointmentScheduled":
        s.appointment_at = _when(body["appointment_at"])
        s.first_appointment_at = s.first_appointment_at or s.appointment_at
        s.appointments += 1
    elif name == "AppointmentMissed":
        s.no_shows += 1
    elif name == "AppointmentAttended":
        s.attended_at = s.attended_at or _when(body["attended_at"])
    elif name == "ReferralCompleted":
        s.completed_at, s.outcome = at, body["outcome"]


def summary_to_json(summary: ReferralSummary) -> dict[str, Any]:
    data: dict[str, Any] = to_json_value(asdict(summary))
    return data


_TIMES = frozenset(f.name for f in fields(ReferralSummary) if "datetime" in str(f.type))


def summary_from_json(data: Mapping[str, Any]) -> ReferralSummary:
    values: dict[str, Any] = {k: (_when(v) if k in _TIMES else v) for k, v in data.items()}
    values["state"] = State(values["state"])
    return ReferralSummary(**values)


def due_at(s: ReferralSummary) -> dt.datetime:
    """The date the worklist sorts by: the due date that matters now, else when drafted."""
    due = s.acknowledge_by if s.state is State.REQUESTED else s.first_appointment_by
    return due or s.created_at


def summary_values(s: ReferralSummary) -> dict[str, Any]:
    """The typed columns of a summary's row (what lists filter and sort on)."""
    return {
        "plan_id": s.plan_id,
        "client_id": s.client_id,
        "referral_type": s.referral_type,
        "origin": s.origin,
        "coordinator_id": s.coordinator_id,
        "organization_id": s.organization_id,
        "state": s.state.value,
        "open": not s.final,
        "blocked": s.blocked is not None,
        "due_at": due_at(s),
        "acknowledge_by": s.acknowledge_by,
        "first_appointment_by": s.first_appointment_by,
        "booked_late": (
            s.appointment_at is not None
            and s.first_appointment_by is not None
            and s.appointment_at > s.first_appointment_by
        ),
        "sent_at": s.sent_at,
        "attended_at": s.attended_at,
        "completed_at": s.completed_at,
        "accepted_at": s.accepted_at,
        "declined_at": s.declined_at,
        "first_appointment_at": s.first_appointment_at,
        "appointments": s.appointments,
        "no_shows": s.no_shows,
    }
