"""One referral: record a draft, read it and its history, revise it, send it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from services.common.auth.callers import Role
from services.common.http.app import bearer_token, set_etag
from services.referral.deps import (
    IdempotencyKey,
    IfMatch,
    Reader,
    Referrals,
    Referrer,
    answer,
    keyed_id,
)
from services.referral.domain.commands import SendReferral
from services.referral.reads import read_one, shown
from services.referral.schemas import ReferralCreate, ReferralDetails, ReferralPublic, StepIn
from services.referral.views import referral_view

router = APIRouter(tags=["referrals"])


@router.post(
    "/referrals",
    status_code=201,
    response_model=ReferralPublic,
    summary="Record a draft referral (Idempotency-Key honoured)",
)
def create_referral(
    body: ReferralCreate,
    response: Response,
    app: Referrals,
    caller: Referrer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    command = body.draft(coordinator_id=caller.sub if caller.has(Role.COORDINATOR) else None)
    view, created = app.draft(
        ctx=caller.ctx, referral_id=keyed_id(caller, idempotency_key), command=command
    )
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/referrals/{view['id']}"
    return answer(response, view, app, caller)


@router.get("/referrals/{referral_id}", response_model=ReferralPublic)
def get_referral(
    request: Request, referral_id: UUID, response: Response, app: Referrals, caller: Reader
) -> dict[str, Any]:
    referral, kind = read_one(request, app, referral_id)
    set_etag(response, referral.version)
    return shown(referral_view(referral), kind)


@router.get("/referrals/{referral_id}/history", summary="Who, when and why of every step")
def get_history(
    request: Request, referral_id: UUID, app: Referrals, caller: Reader
) -> dict[str, Any]:
    _, kind = read_one(request, app, referral_id)
    entries = app.history(tenant=caller.tenant, referral_id=referral_id)
    items = [{**shown(e, kind), "body": shown(e["body"], kind)} for e in entries]
    return {"id": str(referral_id), "items": items}


@router.post(
    "/referrals/{referral_id}/revise",
    response_model=ReferralPublic,
    summary="Replace the details of a draft",
)
def revise_referral(
    referral_id: UUID,
    body: ReferralDetails,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Referrer,
) -> dict[str, Any]:
    view = app.revise(
        ctx=caller.ctx, referral_id=referral_id, command=body.revision(), expected_version=if_match
    )
    return answer(response, view, app, caller)


@router.post(
    "/referrals/{referral_id}/send",
    response_model=ReferralPublic,
    summary="Send on a PERMIT consent decision (409 without consent, 503 if unknown)",
)
def send_referral(
    referral_id: UUID,
    request: Request,
    response: Response,
    app: Referrals,
    if_match: IfMatch,
    caller: Referrer,
    body: StepIn | None = None,
) -> dict[str, Any]:
    view = app.send(
        ctx=caller.ctx,
        referral_id=referral_id,
        command=SendReferral(note=body.note if body else None),
        expected_version=if_match,
        token=bearer_token(request),
    )
    return answer(response, view, app, caller)
