"""The decision point: ask (PERMIT, DENY or NO_CONSENT, always recorded), list, read, review."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response

from services.common.auth.callers import Role
from services.common.auth.service_identity import end_caller
from services.common.http.app import bearer_token
from services.common.readmodels.paging import WindowParams, page_body
from services.consent.deps import (
    Asker,
    Compliance,
    Consents,
    From,
    IfMatch,
    OnBehalfOf,
    Staff,
    To,
    sent,
    when,
)
from services.consent.domain.commands import CloseReview
from services.consent.projections import DecisionFilter
from services.consent.reads import DECISION, logged
from services.consent.records import RecordRef
from services.consent.schemas import DecisionIn, ReviewIn

router = APIRouter(tags=["decisions"])
RESTRICTED = "(restricted)"


@router.post("/decisions", status_code=201)
def decide(
    body: DecisionIn,
    request: Request,
    response: Response,
    app: Consents,
    caller: Asker,
    on_behalf_of: OnBehalfOf = None,
) -> dict[str, Any]:
    """PERMIT, DENY or NO_CONSENT, with basis, obligations and trace; always recorded."""
    records = [RecordRef(**r.model_dump()) for r in body.records]
    return sent(
        response,
        app.decide(
            ctx=caller.ctx,
            command=body.command(actor_id=end_caller(caller, on_behalf_of), at=app.clock()),
            records=records,
            token=bearer_token(request),
        ),
    )


@router.get("/decisions")
def list_decisions(
    request: Request,
    app: Consents,
    caller: Compliance,
    window: WindowParams,
    outcome: Literal["PERMIT", "DENY", "NO_CONSENT"] | None = None,
    break_glass: bool | None = None,
    carve_out: bool | None = None,
    person_id: str | None = None,
    start: From = None,
    end: To = None,
) -> dict[str, Any]:
    """Decisions of a period: `?outcome=DENY` for denials, `?break_glass=true` for emergencies,
    `?carve_out=true` for the agreement's carve-outs."""
    query = DecisionFilter(
        outcome=outcome,
        break_glass=break_glass,
        carve_out=carve_out,
        person_id=person_id,
        start=when(start, "from"),
        end=when(end, "to"),
    )
    answer = page_body(window, app.decisions(tenant=caller.tenant, query=query, window=window))
    logged(request, DECISION, answer["items"])
    return answer


@router.get("/decisions/{decision_id}")
def get_decision(
    request: Request, decision_id: str, response: Response, app: Consents, caller: Staff
) -> dict[str, Any]:
    decision = app.get_decision(decision_id, caller.tenant)
    logged(request, DECISION, [decision])
    if not caller.has(Role.COMPLIANCE):
        # Justifications and emergency details are free text: compliance reads them, others not.
        for key in ("break_glass", "carve_out"):
            if decision[key]:
                decision[key] = {
                    k: v if k == "kind" or v is None else RESTRICTED
                    for k, v in decision[key].items()
                }
    return sent(response, decision)


@router.get("/reviews")
def review_queue(
    request: Request, app: Consents, caller: Compliance, window: WindowParams
) -> dict[str, Any]:
    """Break-glass decisions waiting for a compliance finding, oldest first."""
    answer = page_body(window, app.review_queue(tenant=caller.tenant, window=window))
    logged(request, DECISION, answer["items"])
    return answer


@router.post("/decisions/{decision_id}/review", status_code=201)
def close_review(
    decision_id: str,
    body: ReviewIn,
    response: Response,
    app: Consents,
    caller: Compliance,
    if_match: IfMatch,
) -> dict[str, Any]:
    return sent(
        response,
        app.close_review(
            ctx=caller.ctx,
            decision_id=decision_id,
            command=CloseReview(finding=body.finding, note=body.note),
            expected_version=if_match,
        ),
    )
