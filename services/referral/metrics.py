"""Closed-loop referral metrics over the referrals sent in a period.

The read model selects, by index, the period's cohort, its detox discharges and their clients'
visits (`metrics_where`); the figures are computed from those rows only.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.common.readmodels.query import Cmp, Condition, In, Null, eq
from services.referral.summary import ReferralSummary


@dataclass(frozen=True)
class MetricsRows:
    """What the metrics of [start, end) read: the cohort, detox discharges, later visits."""

    sent: Sequence[ReferralSummary]
    discharges: Sequence[ReferralSummary]
    visits: Sequence[ReferralSummary]


def sent_in(start: dt.datetime, end: dt.datetime) -> list[Condition]:
    return [Cmp("sent_at", ">=", start), Cmp("sent_at", "<", end)]


def discharged_in(start: dt.datetime, end: dt.datetime) -> list[Condition]:
    return [
        eq("referral_type", "detox"),
        Cmp("completed_at", ">=", start),
        Cmp("completed_at", "<", end),
    ]


def visits_of(clients: Iterable[str]) -> list[Condition]:
    return [In("client_id", tuple(sorted(set(clients)))), Null("attended_at", null=False)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median_hours(spans: list[dt.timedelta]) -> float | None:
    if not spans:
        return None
    return round(statistics.median(s.total_seconds() for s in spans) / 3600, 2)


def referral_metrics(rows: MetricsRows, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Loop closure, times to accept and to first appointment, and per-organisation rates.

    The cohort is every referral sent in [start, end). The loop is closed when the referral is
    completed with an outcome. Detox follow-up: of the detox referrals completed in the period,
    the share whose client attended another referral's appointment within 7 / 30 days after.
    """
    sent = [s for s in rows.sent if s.sent_at is not None and start <= s.sent_at < end]
    to_accept = [s.accepted_at - s.sent_at for s in sent if s.accepted_at and s.sent_at]
    to_first = [
        s.first_appointment_at - s.sent_at for s in sent if s.first_appointment_at and s.sent_at
    ]
    return {
        "from": start,
        "to": end,
        "sent": len(sent),
        "completed": sum(1 for s in sent if s.completed_at is not None),
        "loop_closure_rate": _rate(sum(1 for s in sent if s.completed_at is not None), len(sent)),
        "median_hours_to_accept": _median_hours(to_accept),
        "median_hours_to_first_appointment": _median_hours(to_first),
        "organizations": _per_organization(sent),
        "detox_follow_up": _detox_follow_up(rows, start, end),
    }


def _per_organization(sent: list[ReferralSummary]) -> list[dict[str, Any]]:
    groups: dict[str, list[ReferralSummary]] = defaultdict(list)
    for s in sent:
        groups[s.organization_id or "unknown"].append(s)
    rows = []
    for org, items in sorted(groups.items()):
        declined = sum(1 for s in items if s.declined_at is not None)
        appointments = sum(s.appointments for s in items)
        no_shows = sum(s.no_shows for s in items)
        rows.append(
            {
                "organization_id": org,
                "sent": len(items),
                "accepted": sum(1 for s in items if s.accepted_at is not None),
                "declined": declined,
                "decline_rate": _rate(declined, len(items)),
                "appointments": appointments,
                "no_shows": no_shows,
                "no_show_rate": _rate(no_shows, appointments),
                "completed": sum(1 for s in items if s.completed_at is not None),
            }
        )
    return rows


def _detox_follow_up(rows: MetricsRows, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    discharges = [
        s
        for s in rows.discharges
        if s.referral_type == "detox" and s.completed_at and start <= s.completed_at < end
    ]
    within = {7: 0, 30: 0}
    for detox in discharges:
        assert detox.completed_at is not None
        visits = [
            s.attended_at - detox.completed_at
            for s in rows.visits
            if s.id != detox.id
            and s.tenant == detox.tenant
            and s.client_id == detox.client_id
            and s.referral_type != "detox"
            and s.attended_at is not None
            and s.attended_at > detox.completed_at
        ]
        for days in within:
            if any(v <= dt.timedelta(days=days) for v in visits):
                within[days] += 1
    return {
        "detox_completed": len(discharges),
        "within_7_days": within[7],
        "within_30_days": within[30],
        "rate_7_days": _rate(within[7], len(discharges)),
        "rate_30_days": _rate(within[30], len(discharges)),
    }
