"""FHIR endpoints of the consent service: Consent (with versions), AuditEvents of disclosures.

Every route reads through the access log (reads.logged) like the JSON routes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.common.fhir import fhir_response
from services.consent import fhir
from services.consent.accounting import accounting_rows, accounting_window
from services.consent.deps import Auditor, Consents, Reader
from services.consent.reads import CONSENT, DISCLOSURE, logged

router = APIRouter(prefix="/fhir", tags=["fhir"])


@router.get("/Consent/{consent_id}")
def fhir_consent(request: Request, consent_id: str, app: Consents, caller: Reader) -> Response:
    view = app.get_consent(tenant=caller.tenant, consent_id=consent_id)
    logged(request, CONSENT, [view])
    return fhir_response(fhir.consent_resource(view), view["version"])


@router.get("/Consent/{consent_id}/_history/{version}")
def fhir_consent_version(
    request: Request, consent_id: str, version: int, app: Consents, caller: Reader
) -> Response:
    view = app.get_consent(tenant=caller.tenant, consent_id=consent_id, version=version)
    logged(request, CONSENT, [view])
    return fhir_response(fhir.consent_resource(view), view["version"])


@router.get("/AuditEvent")
def fhir_audit_events(
    request: Request, app: Consents, caller: Auditor, patient: Annotated[str, Query(min_length=1)]
) -> Response:
    """The patient's disclosures as a searchset Bundle of AuditEvent (6-year window, every one,
    whether or not an accounting to the patient would list it)."""
    window = accounting_window(app.clock(), None, None)
    made = app.disclosures_of(caller.tenant, patient, start=window["from"])
    lines, excluded = accounting_rows(made, window)
    rows = sorted([*lines, *excluded], key=lambda r: r["disclosed_at"])
    logged(request, DISCLOSURE, rows, clients=[patient])
    return fhir_response(fhir.bundle(fhir.disclosure_audit_event(r) for r in rows))
