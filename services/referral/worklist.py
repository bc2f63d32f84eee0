"""The coordinators' worklist: referrals that need someone to act, and why.

Each reason is a condition over the summary's typed columns (projections.py): the read model
filters, sorts and pages by them in SQL (or in memory), and the same conditions name the
reasons of each row it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.readmodels.query import (
    Cmp,
    Condition,
    In,
    Null,
    Order,
    all_of,
    any_of,
    eq,
)
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
_WAITING_FOR_APPOINTMENT = (
    State.REQUESTED,
    State.RECEIVED,
    State.ACCEPTED,
    State.NO_SHOW,
    State.APPOINTMENT_CANCELLED,
)
ORDER = Order(("due_at", "id"))  # the longest overdue first


@dataclass(frozen=True)
class WorklistFilter:
    organization_id: str | None = None
    referral_type: str | None = None
    coordinator_id: str | None = None
    reason: str | None = None


def reason_conditions(now: dt.datetime) -> dict[str, Condition]:
    """Each reason as a condition on a summary row, at `now`."""
    return {
        "blocked-by-consent": all_of(eq("state", State.DRAFT.value), eq("blocked", True)),
        "suggested": all_of(
            eq("state", State.DRAFT.value), eq("blocked", False), eq("origin", "plan-suggestion")
        ),
        "overdue-acknowledgement": all_of(
            eq("state", State.REQUESTED.value), Cmp("acknowledge_by", "<", now)
        ),
        "overdue-first-appointment": all_of(
            Cmp("first_appointment_by", "<", now),
            Null("attended_at"),
            any_of(
                In("state", tuple(s.value for s in _WAITING_FOR_APPOINTMENT)),
                all_of(eq("state", State.SCHEDULED.value), eq("booked_late", True)),
            ),
        ),
        "no-show": eq("state", State.NO_SHOW.value),
        "awaiting-outcome": eq("state", State.ATTENDED.value),
    }


def worklist_where(now: dt.datetime, where: WorklistFilter) -> list[Condition]:
    """The conditions of the referrals on the worklist that match the filter."""
    reasons = reason_conditions(now)
    wanted = [reasons[where.reason]] if where.reason else list(reasons.values())
    conditions: list[Condition] = [eq("open", True), any_of(*wanted)]
    for column, value in (
        ("organization_id", where.organization_id),
        ("referral_type", where.referral_type),
        ("coordinator_id", where.coordinator_id),
    ):
        if value:
            conditions.append(eq(column, value))
    return conditions


def reasons_for(row: Mapping[str, Any], now: dt.datetime) -> list[str]:
    """Why a referral (its summary row) is on the worklist now (empty: it is not)."""
    return [reason for reason, test in reason_conditions(now).items() if test.test(row)]


def worklist_item(row: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    s: ReferralSummary = row["data"]
    info = STATES[s.state]
    return {
        "id": s.id,
        "reasons": reasons_for(row, now),
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
        "due_at": row["due_at"],
    }
