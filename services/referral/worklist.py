"""The coordinators' worklist: referrals that need someone to act, and why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.referral.domain.lifecycle import STATES, State
from services.referral.summary import ReferralSummary

REASONS = (
    "blocked-by-consent",
    "suggested",
    "overdue-acknowledgement",
    "overdue-first-appointment",
    "no-show",
    "awaiting-outcome",
)
_WAITING_FOR_APPOINTMENT = frozenset(
    {State.REQUESTED, State.RECEIVED, State.ACCEPTED, State.NO_SHOW, State.APPOINTMENT_CANCELLED}
)


@dataclass(frozen=True)
class WorklistFilter:
    organization_id: str | None = None
    referral_type: str | None = None
    coordinator_id: str | None = None
    reason: str | None = None


def reasons_for(s: ReferralSummary, now: dt.datetime) -> list[str]:
    """Why a referral is on the worklist now (empty: it is not)."""
    reasons: list[str] = []
    if s.state is State.DRAFT:
        if s.blocked is not None:
            reasons.append("blocked-by-consent")
        elif s.origin == "plan-suggestion":
            reasons.append("suggested")
    if s.state is State.REQUESTED and s.acknowledge_by is not None and now > s.acknowledge_by:
        reasons.append("overdue-acknowledgement")
    due = s.first_appointment_by
    if (
        due is not None
        and s.attended_at is None
        and now > due
        and (
            s.state in _WAITING_FOR_APPOINTMENT
            or (
                s.state is State.SCHEDULED
                and s.appointment_at is not None
                and s.appointment_at > due
            )
        )
    ):
        reasons.append("overdue-first-appointment")
    if s.state is State.NO_SHOW:
        reasons.append("no-show")
    if s.state is State.ATTENDED:
        reasons.append("awaiting-outcome")
    return reasons


def worklist(
    summaries: Iterable[ReferralSummary], now: dt.datetime, where: WorklistFilter
) -> list[dict[str, Any]]:
    """Every referral needing action that matches the filter, the longest overdue first."""
    items = []
    for s in summaries:
        if where.organization_id and s.organization_id != where.organization_id:
            continue
        if where.referral_type and s.referral_type != where.referral_type:
            continue
        if where.coordinator_id and s.coordinator_id != where.coordinator_id:
            continue
        reasons = reasons_for(s, now)
        if not reasons or (where.reason and where.reason not in reasons):
            continue
        items.append(_item(s, reasons))
    items.sort(key=lambda item: (item["_due"], item["id"]))
    for item in items:
        item.pop("_due")
    return items


def _item(s: ReferralSummary, reasons: list[str]) -> dict[str, Any]:
    info = STATES[s.state]
    due = s.acknowledge_by if s.state is State.REQUESTED else s.first_appointment_by
    return {
        "id": s.id,
        "reasons": reasons,
        "referral_type": s.referral_type,
        "priority": s.priority,
        "plan_id": s.plan_id,
        "client_id": s.client_id,
        "organization_id": s.organization_id,
        "coordinator_id": s.coordinator_id,
        "state": s.state.value,
        "status": info.task_status,
        "business_status": info.business_status,
        "sent_at": s.sent_at,
        "acknowledge_by": s.acknowledge_by,
        "first_appointment_by": s.first_appointment_by,
        "appointment_at": s.appointment_at,
        "consent": s.blocked,
        "version": s.version,
        "_due": (due or s.created_at).isoformat(),
    }
