"""FHIR endpoints of the referral service: ServiceRequest and Task, with version history."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path, Request, Response
from fastapi.responses import JSONResponse

from services.common.fhir import fhir_response
from services.common.viewer import Access
from services.referral import fhir
from services.referral.deps import EhrWriter, IdempotencyKey, Reader, Referrals, keyed_id
from services.referral.domain import read_policy as rp
from services.referral.reads import placed, read_one

router = APIRouter(prefix="/fhir", tags=["fhir"])
Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="a version of the referral")]


def _clinical(kind: rp.Kind) -> bool:
    return rp.clinical_text(kind) is Access.FULL


@router.post(
    "/ServiceRequest",
    status_code=201,
    response_class=JSONResponse,
    summary="An EHR creates a referral (Idempotency-Key honoured)",
)
def create_service_request(
    app: Referrals,
    caller: EhrWriter,
    resource: Annotated[dict[str, Any], Body(description="a FHIR R4 ServiceRequest")],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = fhir.parse_service_request(resource)
    view, created = app.draft(
        ctx=caller.ctx, referral_id=keyed_id(caller, idempotency_key), command=command
    )
    referral = app.referral(tenant=caller.tenant, referral_id=UUID(view["id"]))
    kind = placed(app, caller.reader, referral.plan_id, referral.client_id)
    return fhir_response(
        fhir.service_request(referral, clinical=_clinical(kind)),
        referral.version,
        status_code=201 if created else 200,
        location=f"/fhir/ServiceRequest/{referral.id}/_history/{referral.version}",
    )


@router.get("/ServiceRequest/{referral_id}", response_class=JSONResponse)
def read_service_request(
    request: Request,
    referral_id: UUID,
    app: Referrals,
    caller: Reader,
) -> Response:
    referral, kind = read_one(request, app, referral_id, resource_type="ServiceRequest")
    return fhir_response(fhir.service_request(referral, clinical=_clinical(kind)), referral.version)


@router.get("/ServiceRequest/{referral_id}/_history/{version}", response_class=JSONResponse)
def read_service_request_version(
    request: Request,
    referral_id: UUID,
    version: Version,
    app: Referrals,
    caller: Reader,
) -> Response:
    referral, kind = read_one(
        request, app, referral_id, version=version, resource_type="ServiceRequest"
    )
    return fhir_response(fhir.service_request(referral, clinical=_clinical(kind)), referral.version)


@router.get("/Task/{referral_id}", response_class=JSONResponse)
def read_task(
    request: Request,
    referral_id: UUID,
    app: Referrals,
    caller: Reader,
) -> Response:
    referral, kind = read_one(request, app, referral_id, resource_type="Task")
    return fhir_response(fhir.task(referral, clinical=_clinical(kind)), referral.version)


@router.get("/Task/{referral_id}/_history/{version}", response_class=JSONResponse)
def read_task_version(
    request: Request,
    referral_id: UUID,
    version: Version,
    app: Referrals,
    caller: Reader,
) -> Response:
    referral, kind = read_one(request, app, referral_id, version=version, resource_type="Task")
    return fhir_response(fhir.task(referral, clinical=_clinical(kind)), referral.version)
