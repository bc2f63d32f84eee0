"""The coordinators' worklist and the closed-loop metrics of a period."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from services.common.errors import RuleBroken
from services.common.http.access import record_read
from services.common.readmodels.paging import WindowParams
from services.common.validation import moment_in_range
from services.common.viewer import Touched
from services.referral.deps import Coordination, Referrals, WorklistReader
from services.referral.reads import worklist_page
from services.referral.schemas import ReferralType
from services.referral.worklist import WorklistFilter

router = APIRouter(tags=["referrals"])
WorklistReason = Literal[
    "blocked-by-consent",
    "suggested",
    "overdue-acknowledgement",
    "overdue-first-appointment",
    "no-show",
    "awaiting-outcome",
]


@router.get("/referrals/worklist", summary="Referrals that need a coordinator, and why")
def get_worklist(
    request: Request,
    app: Referrals,
    window: WindowParams,
    caller: WorklistReader,
    organization: Annotated[str | None, Query(description="receiving organisation id")] = None,
    referral_type: Annotated[ReferralType | None, Query(alias="type")] = None,
    coordinator: Annotated[str | None, Query(description="coordinator id")] = None,
    reason: Annotated[WorklistReason | None, Query(description="only this reason")] = None,
) -> dict[str, Any]:
    where = WorklistFilter(organization, referral_type, coordinator, reason)
    return worklist_page(request, app, where, window)


@router.get("/referrals/metrics", summary="Closed-loop metrics of the referrals sent in a period")
def get_metrics(
    request: Request,
    app: Referrals,
    caller: Coordination,
    start: Annotated[str | None, Query(alias="from", description="ISO date or time")] = None,
    end: Annotated[
        str | None, Query(alias="to", description="ISO date or time (exclusive)")
    ] = None,
) -> dict[str, Any]:
    until = _moment("to", end) if end else app.clock()
    since = _moment("from", start) if start else until - dt.timedelta(days=30)
    if since >= until:
        raise RuleBroken("the period is empty", errors={"from": "must be before `to`"})
    metrics = app.metrics(tenant=caller.tenant, start=since, end=until)
    record_read(request, Touched("ReferralMetrics", view="full"))  # counts only, no client
    return metrics


def _moment(field: str, text: str) -> dt.datetime:
    """An ISO date (midnight UTC) or an ISO time with an offset."""
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0), tzinfo=dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RuleBroken(
            f"`{field}` is not a date or a time with an offset",
            errors={field: "use 2026-03-01 or 2026-03-01T00:00:00Z"},
        )
    return moment_in_range(field, moment)
