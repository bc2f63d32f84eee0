"""Disclosures made (now or recorded late) and the accounting of disclosures (JSON, CSV, FHIR)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response

from services.common.fhir import FHIR_JSON, fhir_response
from services.consent import fhir
from services.consent.accounting import accounting_csv
from services.consent.deps import (
    Compliance,
    Consents,
    Discloser,
    From,
    LateRecorder,
    To,
    sent,
    when,
)
from services.consent.domain.commands import (
    ProduceAccounting,
    RecordDisclosure,
    RecordLateDisclosure,
)
from services.consent.reads import DISCLOSURE, logged
from services.consent.schemas import DisclosureIn, LateDisclosureIn

router = APIRouter(tags=["disclosures"])


@router.post("/disclosures", status_code=201)
def record_disclosure(
    body: DisclosureIn, response: Response, app: Consents, caller: Discloser
) -> dict[str, Any]:
    """Record a disclosure made; 409 naming each mismatch with its PERMIT decision."""
    return sent(
        response,
        app.record_disclosure(ctx=caller.ctx, command=RecordDisclosure(terms=body.terms())),
    )


@router.post("/disclosures/late", status_code=201)
def record_late_disclosure(
    body: LateDisclosureIn, response: Response, app: Consents, caller: LateRecorder
) -> dict[str, Any]:
    """Record a disclosure made earlier (on paper, by phone, in the previous system)."""
    return sent(
        response,
        app.record_late_disclosure(
            ctx=caller.ctx, command=RecordLateDisclosure(terms=body.terms())
        ),
    )


@router.get(
    "/persons/{person_id}/disclosure-accounting",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/csv": {}, FHIR_JSON: {}}}},
)
def disclosure_accounting(
    request: Request,
    person_id: str,
    app: Consents,
    caller: Compliance,
    start: From = None,
    end: To = None,
    format: Literal["json", "csv", "fhir"] = "json",
) -> dict[str, Any] | Response:
    """Accounting of disclosures per regime (HIPAA 164.528, 42 CFR 2.24), recorded as produced."""
    command = ProduceAccounting(start=when(start, "from"), end=when(end, "to"), format=format)
    accounting = app.account(ctx=caller.ctx, person_id=person_id, command=command)
    rows = accounting["items"]
    logged(request, DISCLOSURE, [*rows, *accounting["excluded"]], clients=[person_id])
    if format == "csv":
        return Response(accounting_csv(rows), media_type="text/csv; charset=utf-8")
    if format == "fhir":
        return fhir_response(fhir.bundle(fhir.disclosure_audit_event(r) for r in rows))
    return accounting
