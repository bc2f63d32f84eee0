"""Closed-loop referral metrics over the referrals sent in a period.

The figures are counts and two medians (`Figures`), shaped into the answer by `metrics_body`.
In PostgreSQL they are SQL aggregates over the summaries' indexed columns (metrics_sql.py); in
memory `figures_of` computes them from the rows `metrics_where` selects. Both give the same
numbers: the rates and medians are computed here, in Python, from the same counts and middles.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.common.readmodels.query import Cmp, Condition, In, Null, eq
from services.referral.summary import ReferralSummary

FOLLOW_UP_DAYS = (7, 30)


@dataclass(frozen=True)
class MetricsRows:
    """What the metrics of [start, end) read: the cohort, detox discharges, later visits."""

    sent: Sequence[ReferralSummary]
    discharges: Sequence[ReferralSummary]
    visits: Sequence[ReferralSummary]


@dataclass(frozen=True)
class OrganizationCounts:
    organization_id: str
    sent: int
    accepted: int
    declined: int
    appointments: int
    no_shows: int
    completed: int


@dataclass(frozen=True)
class Figures:
    """The counts of a period, and the middle span(s) of each median (none, one or two)."""

    organizations: Sequence[OrganizationCounts]
    to_accept: Sequence[dt.timedelta] = ()
    to_first_appointment: Sequence[dt.timedelta] = ()
    detox_completed: int = 0
    followed_up: dict[int, int] = field(default_factory=dict)  # days -> discharges followed


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


def middles(spans: Iterable[dt.timedelta]) -> list[dt.timedelta]:
    """The middle span (odd count) or the two middle spans (even count) of `spans`."""
    ordered = sorted(spans)
    n = len(ordered)
    return ordered[(n - 1) // 2 : n // 2 + 1] if n else []


def _median_hours(middle: Sequence[dt.timedelta]) -> float | None:
    if not middle:
        return None
    return round(statistics.median(s.total_seconds() for s in middle) / 3600, 2)


def metrics_body(figures: Figures, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Loop closure, times to accept and to first appointment, and per-organisation rates.

    The cohort is every referral sent in [start, end). The loop is closed when the referral is
    completed with an outcome. Detox follow-up: of the detox referrals completed in the period,
    the share whose client attended another referral's appointment within 7 / 30 days after.
    """
    orgs = sorted(figures.organizations, key=lambda o: o.organization_id)
    sent = sum(o.sent for o in orgs)
    completed = sum(o.completed for o in orgs)
    within = {days: figures.followed_up.get(days, 0) for days in FOLLOW_UP_DAYS}
    discharged = figures.detox_completed
    return {
        "from": start,
        "to": end,
        "sent": sent,
        "completed": completed,
        "loop_closure_rate": _rate(completed, sent),
        "median_hours_to_accept": _median_hours(figures.to_accept),
        "median_hours_to_first_appointment": _median_hours(figures.to_first_appointment),
        "organizations": [
            {
                "organization_id": o.organization_id,
                "sent": o.sent,
                "accepted": o.accepted,
                "declined": o.declined,
                "decline_rate": _rate(o.declined, o.sent),
                "appointments": o.appointments,
                "no_shows": o.no_shows,
                "no_show_rate": _rate(o.no_shows, o.appointments),
                "completed": o.completed,
            }
            for o in orgs
        ],
        "detox_follow_up": {
            "detox_completed": discharged,
            "within_7_days": within[7],
            "within_30_days": within[30],
            "rate_7_days": _rate(within[7], discharged),
            "rate_30_days": _rate(within[30], discharged),
        },
    }


def referral_metrics(rows: MetricsRows, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """The metrics of [start, end) from the rows `metrics_where` selected (the in-memory way)."""
    return metrics_body(figures_of(rows, start, end), start, end)


def figures_of(rows: MetricsRows, start: dt.datetime, end: dt.datetime) -> Figures:
    sent = [s for s in rows.sent if s.sent_at is not None and start <= s.sent_at < end]
    to_accept = [s.accepted_at - s.sent_at for s in sent if s.accepted_at and s.sent_at]
    to_first = [
        s.first_appointment_at - s.sent_at for s in sent if s.first_appointment_at and s.sent_at
    ]
    discharges = [
        s
        for s in rows.discharges
        if s.referral_type == "detox" and s.completed_at and start <= s.completed_at < end
    ]
    return Figures(
        organizations=_per_organization(sent),
        to_accept=middles(to_accept),
        to_first_appointment=middles(to_first),
        detox_completed=len(discharges),
        followed_up=_followed_up(discharges, rows.visits),
    )


def _per_organization(sent: list[ReferralSummary]) -> list[OrganizationCounts]:
    groups: dict[str, list[ReferralSummary]] = defaultdict(list)
    for s in sent:
        groups[s.organization_id or "unknown"].append(s)
    return [
        OrganizationCounts(
            organization_id=org,
            sent=len(items),
            accepted=sum(1 for s in items if s.accepted_at is not None),
            declined=sum(1 for s in items if s.declined_at is not None),
            appointments=sum(s.appointments for s in items),
            no_shows=sum(s.no_shows for s in items),
            completed=sum(1 for s in items if s.completed_at is not None),
        )
        for org, items in groups.items()
    ]


def _followed_up(
    discharges: Sequence[ReferralSummary], visits: Sequence[ReferralSummary]
) -> dict[int, int]:
    within = dict.fromkeys(FOLLOW_UP_DAYS, 0)
    for detox in discharges:
        assert detox.completed_at is not None
        after = [
            s.attended_at - detox.completed_at
            for s in visits
            if s.id != detox.id
            and s.tenant == detox.tenant
            and s.client_id == detox.client_id
            and s.referral_type != "detox"
            and s.attended_at is not None
            and s.attended_at > detox.completed_at
        ]
        for days in within:
            if any(v <= dt.timedelta(days=days) for v in after):
                within[days] += 1
    return within
