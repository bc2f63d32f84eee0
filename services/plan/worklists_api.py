"""Worklist routes of the plan service: uneven growth, reviews and confidences due (read model).

Uneven growth and reviews due are filtered, ordered and paged in SQL over the plans the caller
may list (queries.py; `cursor` for deep pages); confidences due are one row per session, of the
plans the read model finds holding one. Rows are cut to the plans the caller may read and logged
as one read (reads.PlanReads).
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.common.http.access import asked
from services.common.readmodels.paging import WindowParams
from services.common.validation import Day
from services.plan import queries as q
from services.plan.deps import Clinician, PageParams, Plans, Reads, Scheduler
from services.plan.domain import worklists as w
from services.plan.domain.worklists import DEFAULT_STRETCH_WEEKS

# The therapists' and coordinators' worklists, judged on `on` (default today, UTC).
router = APIRouter(tags=["worklists"])


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@router.get(
    "/worklists/uneven-growth",
    summary="Plans where only one partner has attended for over the stretch",
)
def uneven_growth(
    request: Request,
    caller: Scheduler,
    reads: Reads,
    window: WindowParams,
    stretch_weeks: Annotated[int, Query(ge=1, le=52)] = DEFAULT_STRETCH_WEEKS,
    on: Annotated[Day | None, Query(description="the day to judge (default today)")] = None,
) -> dict[str, Any]:
    day = on or today()
    where = q.uneven_where(day, stretch_weeks)
    item = partial(w.uneven_growth, today=day, stretch_weeks=stretch_weeks)
    return reads.worklist_page(asked(request), where, q.UNEVEN, window, item)


@router.get(
    "/worklists/reviews-due",
    summary="Reviews due within N days and overdue ones, earliest first",
)
def reviews_due(
    request: Request,
    caller: Scheduler,
    reads: Reads,
    window: WindowParams,
    within_days: Annotated[int, Query(ge=0, le=90)] = 7,
    on: Annotated[Day | None, Query(description="the day to judge (default today)")] = None,
) -> dict[str, Any]:
    day = on or today()
    where = q.reviews_where(day, within_days)
    item = partial(w.review_due, today=day, within_days=within_days)
    return reads.worklist_page(asked(request), where, q.REVIEWS, window, item)


@router.get(
    "/worklists/confidences-due",
    summary="Confidences held under limited-secrets due to be shared within N days, or past",
)
def confidences_due(
    request: Request,
    caller: Clinician,
    plans: Plans,
    reads: Reads,
    page: PageParams,
    within_days: Annotated[int, Query(ge=0, le=90)] = 7,
    clinician_id: Annotated[
        str | None, Query(max_length=100, description="only sessions this clinician held")
    ] = None,
    on: Annotated[Day | None, Query(description="the day to judge (default today)")] = None,
) -> dict[str, Any]:
    rows = plans.confidences_due(
        caller.tenant, today=on or today(), within_days=within_days, clinician_id=clinician_id
    )
    return page.slice(reads.worklist(asked(request), rows))
