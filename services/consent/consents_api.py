"""Consent directives: record, read, history, and each change of status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from services.common.auth.callers import Caller
from services.common.http.app import PageParams
from services.consent.application import ConsentApplication
from services.consent.deps import Consents, IfMatch, Reader, Writer, sent
from services.consent.domain.commands import (
    ActivateConsent,
    ChangeConsent,
    ExpireConsent,
    MarkConsentEnteredInError,
    RecordConsent,
    RejectConsent,
    RevokeConsent,
)
from services.consent.reads import CONSENT, logged
from services.consent.schemas import ConsentIn, ExpiryIn, RevocationIn

router = APIRouter(tags=["consents"])


@router.post("/consents", status_code=201)
def create_consent(
    body: ConsentIn, response: Response, app: Consents, caller: Writer
) -> dict[str, Any]:
    """Record a consent directive; a Part 2 consent missing elements is a 422 naming each."""
    return sent(
        response, app.create_consent(ctx=caller.ctx, command=RecordConsent(terms=body.terms()))
    )


@router.get("/consents/{consent_id}")
def get_consent(
    request: Request, consent_id: str, response: Response, app: Consents, caller: Reader
) -> dict[str, Any]:
    view = app.get_consent(tenant=caller.tenant, consent_id=consent_id)
    logged(request, CONSENT, [view])
    return sent(response, view)


@router.get("/consents/{consent_id}/history")
def consent_history(
    request: Request, consent_id: str, app: Consents, caller: Reader
) -> dict[str, Any]:
    """Every event of the consent: type, version, when, who (actor, role) and body."""
    view = app.get_consent(tenant=caller.tenant, consent_id=consent_id)
    events = app.consent_history(tenant=caller.tenant, consent_id=consent_id)
    logged(request, CONSENT, [view])
    return {"consent_id": consent_id, "events": events}


@router.get("/persons/{person_id}/consents")
def consents_of_person(
    request: Request, person_id: str, app: Consents, caller: Reader, page: PageParams
) -> dict[str, Any]:
    views = [c.view() for c in app.consents_of(caller.tenant, person_id)]
    answer = page.slice(views)
    logged(request, CONSENT, answer["items"], clients=[person_id])
    return answer


@dataclass(frozen=True)
class StatusChange:
    """A change of one directive's status, answered with its new version as the ETag."""

    consent_id: str
    response: Response
    app: ConsentApplication
    if_match: int | None

    def to(self, command: ChangeConsent, caller: Caller) -> dict[str, Any]:
        view = self.app.change_consent(
            ctx=caller.ctx,
            consent_id=self.consent_id,
            command=command,
            expected_version=self.if_match,
        )
        return sent(self.response, view)


def _status_change(
    consent_id: str, response: Response, app: Consents, if_match: IfMatch
) -> StatusChange:
    return StatusChange(consent_id, response, app, if_match)


Change = Annotated[StatusChange, Depends(_status_change)]


@router.post("/consents/{consent_id}/activation", status_code=201)
def activate(caller: Writer, change: Change) -> dict[str, Any]:
    return change.to(ActivateConsent(), caller)


@router.post("/consents/{consent_id}/rejection", status_code=201)
def reject(caller: Writer, change: Change) -> dict[str, Any]:
    return change.to(RejectConsent(), caller)


@router.post("/consents/{consent_id}/revocation", status_code=201)
def revoke(body: RevocationIn, caller: Writer, change: Change) -> dict[str, Any]:
    """Revoke the whole consent, or only `recipient_id` of a multi-party consent."""
    command = RevokeConsent(on=body.on, in_writing=body.in_writing, recipient_id=body.recipient_id)
    return change.to(command, caller)


@router.post("/consents/{consent_id}/entered-in-error", status_code=201)
def enter_in_error(caller: Writer, change: Change) -> dict[str, Any]:
    """Mark a directive recorded by mistake; it never applies again, its history stays."""
    return change.to(MarkConsentEnteredInError(), caller)


@router.post("/consents/{consent_id}/expiry", status_code=201)
def expire(body: ExpiryIn, caller: Writer, change: Change) -> dict[str, Any]:
    return change.to(ExpireConsent(on=body.on, expiry_event=body.expiry_event), caller)
