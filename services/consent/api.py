"""The consent HTTP API: agreements, consents, decisions, reviews, disclosures, accounting, FHIR."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from services.common.auth import Caller, Role, allow
from services.common.errors import RuleBroken
from services.common.http import IfMatch, PageParams, bearer_token, set_etag
from services.common.service_identity import ON_BEHALF_OF, end_caller, is_service
from services.common.validation import moment_in_range
from services.consent import fhir
from services.consent.accounting import accounting_csv, accounting_rows, accounting_window
from services.consent.application import ConsentApplication
from services.consent.domain.terms import BreakGlass, CarveOut, DecisionRequest, Recipient
from services.consent.reads import AGREEMENT, CONSENT, DECISION, DISCLOSURE, logged
from services.consent.records import RecordRef
from services.consent.schemas import (
    AgreementIn,
    ConsentIn,
    DecisionIn,
    DisclosureIn,
    ExpiryIn,
    LateDisclosureIn,
    ReviewIn,
    RevisionIn,
    RevocationIn,
    SignatureIn,
)

router = APIRouter()
FHIR_JSON = "application/fhir+json"
RESTRICTED = "(restricted)"


async def consent_app(request: Request) -> ConsentApplication:
    app: ConsentApplication = request.app.state.consent
    return app


Consents = Annotated[ConsentApplication, Depends(consent_app)]
Writer = Annotated[Caller, Depends(allow(Role.CLINICIAN, Role.COMPLIANCE, Role.ADMIN))]
# Staff ask for themselves; a service credential asks for the end caller it names.
Asker = Annotated[Caller, Depends(allow(Role.CLINICIAN, Role.COORDINATOR, Role.INTEGRATION))]
OnBehalfOf = Annotated[
    str | None,
    Header(
        alias=ON_BEHALF_OF,
        max_length=200,
        description="a service credential only: the caller whose read asks the question",
    ),
]
Discloser = Annotated[Caller, Depends(allow(Role.CLINICIAN))]
LateRecorder = Annotated[Caller, Depends(allow(Role.CLINICIAN, Role.COMPLIANCE))]
Reader = Annotated[
    Caller, Depends(allow(Role.CLINICIAN, Role.COMPLIANCE, Role.INTEGRATION, Role.ADMIN))
]
Compliance = Annotated[Caller, Depends(allow(Role.COMPLIANCE))]
# Every staff role; a client's own token reads none of the consent service's records.
Staff = Annotated[Caller, Depends(allow(*(r for r in Role if r is not Role.CLIENT)))]
Auditor = Annotated[Caller, Depends(allow(Role.COMPLIANCE, Role.INTEGRATION))]


def _sent(response: Response, data: dict[str, Any]) -> dict[str, Any]:
    set_etag(response, int(data["version"]))
    return data


def _list(values: list[Any] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


def when(value: str | None, name: str) -> dt.datetime | None:
    """An ISO 8601 date (midnight UTC) or date-time (UTC when no offset); 422 naming the field."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RuleBroken(
            f"'{name}' is not a date",
            errors={name: "use ISO 8601: 2026-01-31 or 2026-01-31T09:00Z"},
        ) from None
    return moment_in_range(name, parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC))


From = Annotated[str | None, Query(alias="from", description="ISO 8601 date or date-time")]
To = Annotated[str | None, Query(alias="to", description="ISO 8601, exclusive")]


# -- agreements ------------------------------------------------------------------------------


@router.post("/agreements", status_code=201, tags=["agreements"])
def draft_agreement(
    body: AgreementIn, response: Response, app: Consents, caller: Writer
) -> dict[str, Any]:
    """Draft a couple's information-sharing agreement (in force once both partners sign)."""
    return _sent(
        response,
        app.draft_agreement(
            partner_ids=body.partner_ids,
            mode=body.mode,
            carve_outs=_list(body.carve_outs),
            ctx=caller.ctx,
        ),
    )


@router.get("/agreements", tags=["agreements"])
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
    view = app.couple_agreement(caller.tenant, partner_id)
    logged(request, AGREEMENT, [view])
    return _sent(response, view)


@router.get("/agreements/{agreement_id}", tags=["agreements"])
def get_agreement(
    request: Request, agreement_id: str, response: Response, app: Consents, caller: Reader
) -> dict[str, Any]:
    view = app.get_agreement(agreement_id, caller.tenant)
    logged(request, AGREEMENT, [view])
    return _sent(response, view)


@router.post("/agreements/{agreement_id}/signatures", status_code=201, tags=["agreements"])
def sign_agreement(
    agreement_id: str,
    body: SignatureIn,
    response: Response,
    app: Consents,
    caller: Writer,
    if_match: IfMatch,
) -> dict[str, Any]:
    return _sent(
        response,
        app.sign_agreement(
            agreement_id,
            partner_id=body.partner_id,
            signed_on=body.signed_on,
            ctx=caller.ctx,
            expected_version=if_match,
        ),
    )


@router.post("/agreements/{agreement_id}/revisions", status_code=201, tags=["agreements"])
def revise_agreement(
    agreement_id: str,
    body: RevisionIn,
    response: Response,
    app: Consents,
    caller: Writer,
    if_match: IfMatch,
) -> dict[str, Any]:
    return _sent(
        response,
        app.revise_agreement(
            agreement_id,
            mode=body.mode,
            carve_outs=_list(body.carve_outs),
            ctx=caller.ctx,
            expected_version=if_match,
        ),
    )


# -- consents --------------------------------------------------------------------------------


@router.post("/consents", status_code=201, tags=["consents"])
def create_consent(
    body: ConsentIn, response: Response, app: Consents, caller: Writer
) -> dict[str, Any]:
    """Record a consent directive; a Part 2 consent missing elements is a 422 naming each."""
    return _sent(response, app.create_consent(terms=body.terms(), ctx=caller.ctx))


@router.get("/consents/{consent_id}", tags=["consents"])
def get_consent(
    request: Request, consent_id: str, response: Response, app: Consents, caller: Reader
) -> dict[str, Any]:
    view = app.get_consent(consent_id, caller.tenant)
    logged(request, CONSENT, [view])
    return _sent(response, view)


@router.get("/consents/{consent_id}/history", tags=["consents"])
def consent_history(
    request: Request, consent_id: str, app: Consents, caller: Reader
) -> dict[str, Any]:
    """Every event of the consent: type, version, when, who (actor, role) and body."""
    view = app.get_consent(consent_id, caller.tenant)
    events = app.consent_history(consent_id, caller.tenant)
    logged(request, CONSENT, [view])
    return {"consent_id": consent_id, "events": events}


@router.get("/persons/{person_id}/consents", tags=["consents"])
def consents_of_person(
    request: Request, person_id: str, app: Consents, caller: Reader, page: PageParams
) -> dict[str, Any]:
    views = [c.view() for c in app.consents_of(caller.tenant, person_id)]
    answer = page.slice(views)
    logged(request, CONSENT, answer["items"], clients=[person_id])
    return answer


@router.post("/consents/{consent_id}/activation", status_code=201, tags=["consents"])
def activate(
    consent_id: str, response: Response, app: Consents, caller: Writer, if_match: IfMatch
) -> dict[str, Any]:
    return _sent(
        response,
        app.change_consent(consent_id, "activate", ctx=caller.ctx, expected_version=if_match),
    )


@router.post("/consents/{consent_id}/rejection", status_code=201, tags=["consents"])
def reject(
    consent_id: str, response: Response, app: Consents, caller: Writer, if_match: IfMatch
) -> dict[str, Any]:
    return _sent(
        response,
        app.change_consent(consent_id, "reject", ctx=caller.ctx, expected_version=if_match),
    )


@router.post("/consents/{consent_id}/revocation", status_code=201, tags=["consents"])
def revoke(
    consent_id: str,
    body: RevocationIn,
    response: Response,
    app: Consents,
    caller: Writer,
    if_match: IfMatch,
) -> dict[str, Any]:
    """Revoke the whole consent, or only `recipient_id` of a multi-party consent."""
    return _sent(
        response,
        app.change_consent(
            consent_id,
            "revoke",
            ctx=caller.ctx,
            expected_version=if_match,
            on=body.on,
            in_writing=body.in_writing,
            recipient_id=body.recipient_id,
        ),
    )


@router.post("/consents/{consent_id}/entered-in-error", status_code=201, tags=["consents"])
def enter_in_error(
    consent_id: str, response: Response, app: Consents, caller: Writer, if_match: IfMatch
) -> dict[str, Any]:
    """Mark a directive recorded by mistake; it never applies again, its history stays."""
    return _sent(
        response,
        app.change_consent(consent_id, "enter-in-error", ctx=caller.ctx, expected_version=if_match),
    )


@router.post("/consents/{consent_id}/expiry", status_code=201, tags=["consents"])
def expire(
    consent_id: str,
    body: ExpiryIn,
    response: Response,
    app: Consents,
    caller: Writer,
    if_match: IfMatch,
) -> dict[str, Any]:
    return _sent(
        response,
        app.change_consent(
            consent_id,
            "expire",
            ctx=caller.ctx,
            expected_version=if_match,
            on=body.on,
            expiry_event=body.expiry_event,
        ),
    )


# -- decisions and reviews -------------------------------------------------------------------


@router.post("/decisions", status_code=201, tags=["decisions"])
def decide(
    body: DecisionIn,
    request: Request,
    response: Response,
    app: Consents,
    caller: Asker,
    on_behalf_of: OnBehalfOf = None,
) -> dict[str, Any]:
    """PERMIT, DENY or NO_CONSENT, with basis, obligations and trace; always recorded."""
    glass, carve = body.break_glass, body.carve_out
    asked = DecisionRequest(
        person_id=body.person_id,
        actor_id=end_caller(caller, on_behalf_of),
        recipient=Recipient(**body.recipient.model_dump()),
        purpose=body.purpose,
        categories=frozenset(body.categories),
        labels=frozenset(body.labels),
        at=app.clock(),
        individual_session=body.context.individual_session,
        break_glass=BreakGlass(**glass.model_dump()) if glass else None,
        carve_out=CarveOut(**carve.model_dump()) if carve else None,
    )
    records = [RecordRef(**r.model_dump()) for r in body.records]
    return _sent(
        response,
        app.decide(
            request=asked,
            ctx=caller.ctx,
            about_partner_of=body.context.about_partner_of,
            records=records,
            token=bearer_token(request),
        ),
    )


@router.get("/decisions", tags=["decisions"])
def list_decisions(
    request: Request,
    app: Consents,
    caller: Compliance,
    page: PageParams,
    outcome: Literal["PERMIT", "DENY", "NO_CONSENT"] | None = None,
    break_glass: bool | None = None,
    carve_out: bool | None = None,
    person_id: str | None = None,
    start: From = None,
    end: To = None,
) -> dict[str, Any]:
    """Decisions of a period: `?outcome=DENY` for denials, `?break_glass=true` for emergencies,
    `?carve_out=true` for the agreement's carve-outs."""
    rows = app.decisions(
        caller.tenant,
        outcome=outcome,
        break_glass=break_glass,
        carve_out=carve_out,
        person_id=person_id,
        start=when(start, "from"),
        end=when(end, "to"),
    )
    answer = page.slice(rows)
    logged(request, DECISION, answer["items"])
    return answer


@router.get("/decisions/{decision_id}", tags=["decisions"])
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
    return _sent(response, decision)


@router.get("/reviews", tags=["decisions"])
def review_queue(
    request: Request, app: Consents, caller: Compliance, page: PageParams
) -> dict[str, Any]:
    """Break-glass decisions waiting for a compliance finding, oldest first."""
    answer = page.slice(app.review_queue(caller.tenant))
    logged(request, DECISION, answer["items"])
    return answer


@router.post("/decisions/{decision_id}/review", status_code=201, tags=["decisions"])
def close_review(
    decision_id: str,
    body: ReviewIn,
    response: Response,
    app: Consents,
    caller: Compliance,
    if_match: IfMatch,
) -> dict[str, Any]:
    return _sent(
        response,
        app.close_review(
            decision_id,
            finding=body.finding,
            note=body.note,
            ctx=caller.ctx,
            expected_version=if_match,
        ),
    )


# -- disclosures and accounting --------------------------------------------------------------


@router.post("/disclosures", status_code=201, tags=["disclosures"])
def record_disclosure(
    body: DisclosureIn, response: Response, app: Consents, caller: Discloser
) -> dict[str, Any]:
    """Record a disclosure made; 409 naming each mismatch with its PERMIT decision."""
    return _sent(response, app.record_disclosure(terms=body.terms(), ctx=caller.ctx))


@router.post("/disclosures/late", status_code=201, tags=["disclosures"])
def record_late_disclosure(
    body: LateDisclosureIn, response: Response, app: Consents, caller: LateRecorder
) -> dict[str, Any]:
    """Record a disclosure made earlier (on paper, by phone, in the previous system)."""
    return _sent(response, app.record_late_disclosure(terms=body.terms(), ctx=caller.ctx))


@router.get(
    "/persons/{person_id}/disclosure-accounting",
    tags=["disclosures"],
    response_model=None,
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}, "application/fhir+json": {}}}
    },
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
    accounting = app.account(
        person_id, start=when(start, "from"), end=when(end, "to"), format=format, ctx=caller.ctx
    )
    rows = accounting["items"]
    logged(request, DISCLOSURE, [*rows, *accounting["excluded"]], clients=[person_id])
    if format == "csv":
        return Response(accounting_csv(rows), media_type="text/csv; charset=utf-8")
    if format == "fhir":
        events = [fhir.disclosure_audit_event(r) for r in rows]
        return _fhir(fhir.bundle(events))
    return accounting


# -- FHIR ------------------------------------------------------------------------------------


def _fhir(resource: Any, version: int | None = None) -> Response:
    response = Response(resource.model_dump_json(exclude_none=True), media_type=FHIR_JSON)
    if version is not None:
        set_etag(response, version)
    return response


@router.get("/fhir/Consent/{consent_id}", tags=["fhir"])
def fhir_consent(request: Request, consent_id: str, app: Consents, caller: Reader) -> Response:
    view = app.get_consent(consent_id, caller.tenant)
    logged(request, CONSENT, [view])
    return _fhir(fhir.consent_resource(view), view["version"])


@router.get("/fhir/Consent/{consent_id}/_history/{version}", tags=["fhir"])
def fhir_consent_version(
    request: Request, consent_id: str, version: int, app: Consents, caller: Reader
) -> Response:
    view = app.get_consent(consent_id, caller.tenant, version=version)
    logged(request, CONSENT, [view])
    return _fhir(fhir.consent_resource(view), view["version"])


@router.get("/fhir/AuditEvent", tags=["fhir"])
def fhir_audit_events(
    request: Request, app: Consents, caller: Auditor, patient: Annotated[str, Query(min_length=1)]
) -> Response:
    """The patient's disclosures as a searchset Bundle of AuditEvent (6-year window, every one,
    whether or not an accounting to the patient would list it)."""
    window = accounting_window(app.clock(), None, None)
    lines, excluded = accounting_rows(app.disclosures_of(caller.tenant, patient), window)
    rows = sorted([*lines, *excluded], key=lambda r: r["disclosed_at"])
    logged(request, DISCLOSURE, rows, clients=[patient])
    return _fhir(fhir.bundle(fhir.disclosure_audit_event(r) for r in rows))
