"""The closed-loop metrics as SQL aggregates over the referral summaries' indexed columns.

Three statements, each reading the period's rows by index and returning only counts and middle
spans: the cohort per organisation (tenant, sent_at), the two medians' middle values of the
cohort (`percentile_disc` from both ends: the middle one, or the two middle ones), and the
detox discharges of the period (tenant, referral_type, completed_at) with whether their client
attended another referral's appointment within 7 and 30 days (tenant, client_id, attended_at).
metrics.py turns them into the answer, exactly as it does for the in-memory rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

from psycopg import sql

from services.common.readmodels.postgres import SummaryProjection
from services.referral.metrics import FOLLOW_UP_DAYS, Figures, OrganizationCounts

_COHORT: LiteralString = "tenant = %(tenant)s AND sent_at >= %(start)s AND sent_at < %(end)s"
PER_ORGANIZATION: LiteralString = (
    "SELECT coalesce(organization_id, 'unknown') AS organization_id, count(*) AS sent,"
    " count(accepted_at) AS accepted, count(declined_at) AS declined,"
    " coalesce(sum(appointments), 0) AS appointments, coalesce(sum(no_shows), 0) AS no_shows,"
    " count(completed_at) AS completed"
    " FROM {table} WHERE {cohort} GROUP BY 1"
)
# percentile_disc(0.5) in ascending order is the lower middle, in descending order the upper
# one: the same value for an odd count. NULL spans (not accepted, no appointment) are skipped.
MEDIANS: LiteralString = (
    "SELECT count(accepted_at) AS accepted,"
    " percentile_disc(0.5) WITHIN GROUP (ORDER BY accepted_at - sent_at) AS accept_low,"
    " percentile_disc(0.5) WITHIN GROUP (ORDER BY accepted_at - sent_at DESC) AS accept_high,"
    " count(first_appointment_at) AS first,"
    " percentile_disc(0.5) WITHIN GROUP (ORDER BY first_appointment_at - sent_at) AS first_low,"
    " percentile_disc(0.5) WITHIN GROUP (ORDER BY first_appointment_at - sent_at DESC)"
    " AS first_high"
    " FROM {table} WHERE {cohort}"
)
# Interval comparisons count a day as 24 hours, as Python's timedelta does.
DETOX_FOLLOW_UP: LiteralString = (
    "SELECT count(*) AS discharged,"
    " count(*) FILTER (WHERE follow_up <= %(week)s) AS within_7,"
    " count(*) FILTER (WHERE follow_up <= %(month)s) AS within_30"
    " FROM (SELECT (SELECT min(v.attended_at) FROM {table} v"
    "   WHERE v.tenant = d.tenant AND v.client_id = d.client_id AND v.id <> d.id"
    "   AND v.referral_type <> 'detox' AND v.attended_at > d.completed_at"
    " ) - d.completed_at AS follow_up"
    " FROM {table} d WHERE d.tenant = %(tenant)s AND d.referral_type = 'detox'"
    " AND d.completed_at >= %(start)s AND d.completed_at < %(end)s) AS discharges"
)


def _rows(
    projection: SummaryProjection[Any], template: LiteralString, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    if projection.store is None:
        raise RuntimeError(f"{projection.name}: built without a ReadStore, cannot query")
    query = sql.SQL(template).format(table=projection.table_id(), cohort=sql.SQL(_COHORT))
    return projection.store.query(query, params)


def _middle(count: int, low: dt.timedelta | None, high: dt.timedelta | None) -> list[dt.timedelta]:
    if not count or low is None or high is None:
        return []
    return [low] if count % 2 else [low, high]


def sql_figures(
    projection: SummaryProjection[Any], tenant: str, start: dt.datetime, end: dt.datetime
) -> Figures:
    """The figures of the referrals of `tenant` sent in [start, end), from SQL aggregates."""
    period: dict[str, Any] = {"tenant": tenant, "start": start, "end": end}
    organizations: Sequence[OrganizationCounts] = [
        OrganizationCounts(**row) for row in _rows(projection, PER_ORGANIZATION, period)
    ]
    [spans] = _rows(projection, MEDIANS, period)
    week, month = (dt.timedelta(days=d) for d in FOLLOW_UP_DAYS)
    [detox] = _rows(projection, DETOX_FOLLOW_UP, {**period, "week": week, "month": month})
    return Figures(
        organizations=organizations,
        to_accept=_middle(spans["accepted"], spans["accept_low"], spans["accept_high"]),
        to_first_appointment=_middle(spans["first"], spans["first_low"], spans["first_high"]),
        detox_completed=int(detox["discharged"]),
        followed_up={7: int(detox["within_7"]), 30: int(detox["within_30"])},
    )
