"""Couples' information-sharing agreements: draft, sign, revise, read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from services.common.auth.service_identity import end_caller, is_service
from services.consent.deps import Consents, IfMatch, OnBehalfOf, Reader, Writer, listed, sent
from services.consent.domain.commands import DraftAgreement, ReviseAgreement, SignAgreement
from services.consent.reads import AGREEMENT, logged
from services.consent.schemas import AgreementIn, RevisionIn, SignatureIn

router = APIRouter(tags=["agreements"])


@router.post("/agreements", status_code=201)
def draft_agreement(
    body: AgreementIn, response: Response, app: Consents, caller: Writer
) -> dict[str, Any]:
    """Draft a couple's information-sharing agreement (in force once both partners sign)."""
    return sent(
        response,
        app.draft_agreement(
            ctx=caller.ctx,
            command=DraftAgreement(
                partner_ids=body.partner_ids, mode=body.mode, carve_outs=listed(body.carve_outs)
            ),
        ),
    )


@router.get("/agreements")
def couple_agreement(
    request: Request,
    app: Consents,
    caller: Reader,
    response: Response,
    partner_id: Annotated[list[str], Query(min_length=2, max_length=2)],
    on_behalf_of: OnBehalfOf = None,
) -> dict[str, Any]:
    """The couple's agreement (`?partner_id=a&partner_id=b`), with the terms in force.

    A service credential asks on an end caller's behalf and names them (`X-On-Behalf-Of`)."""
    if on_behalf_of is not None or is_service(caller):
        end_caller(caller, on_behalf_of)
    view = app.couple_agreement(tenant=caller.tenant, partner_ids=partner_id)
    logged(request, AGREEMENT, [view])
    return sent(response, view)


@router.get("/agreements/{agreement_id}")
def get_agreement(
    request: Request, agreement_id: str, response: Response, app: Consents, caller: Reader
) -> dict[str, Any]:
    view = app.get_agreement(tenant=caller.tenant, agreement_id=agreement_id)
    logged(request, AGREEMENT, [view])
    return sent(response, view)


@router.post("/agreements/{agreement_id}/signatures", status_code=201)
def sign_agreement(
    agreement_id: str,
    body: SignatureIn,
    response: Response,
    app: Consents,
    caller: Writer,
    if_match: IfMatch,
) -> dict[str, Any]:
    return sent(
        response,
        app.sign_agreement(
            ctx=caller.ctx,
            agreement_id=agreement_id,
            command=SignAgreement(partner_id=body.partner_id, signed_on=body.signed_on),
            expected_version=if_match,
        ),
    )


@router.post("/agreements/{agreement_id}/revisions", status_code=201)
def revise_agreement(
    agreement_id: str,
    body: RevisionIn,
    response: Response,
    app: Consents,
    caller: Writer,
    if_match: IfMatch,
) -> dict[str, Any]:
    return sent(
        response,
        app.revise_agreement(
            ctx=caller.ctx,
            agreement_id=agreement_id,
            command=ReviseAgreement(mode=body.mode, carve_outs=listed(body.carve_outs)),
            expected_version=if_match,
        ),
    )
