"""The consent Application: agreements, directives, decisions, disclosures and their queries."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar
from uuid import UUID

from services.common.context import CommandContext
from services.common.errors import Conflict, NotFound
from services.common.readmodels.query import Condition, Found, Window
from services.common.store.application import check_version
from services.consent.disclosures import DisclosureCommands
from services.consent.domain import ConsentDirective, Decision, SharingAgreement
from services.consent.domain.commands import (
    ActivateConsent,
    ChangeConsent,
    CloseReview,
    Decide,
    DraftAgreement,
    ExpireConsent,
    MarkConsentEnteredInError,
    RecordConsent,
    RejectConsent,
    ReviseAgreement,
    RevokeConsent,
    SignAgreement,
)
from services.consent.domain.policy import decide
from services.consent.domain.requests import check_request
from services.consent.projections import ORDER, REVIEW_OPEN, DecisionFilter
from services.consent.records import RecordRef
from services.consent.store import utc_now

__all__ = ["ConsentApplication", "utc_now"]


class ConsentApplication(DisclosureCommands):
    """Commands return plain data plus the new version (for the ETag), never an aggregate."""

    name: ClassVar[str] = "consent"  # type: ignore[misc]

    # -- agreements -------------------------------------------------------------------------

    def draft_agreement(self, *, ctx: CommandContext, command: DraftAgreement) -> dict[str, Any]:
        """Terms between two partners; 409 when the couple already has an agreement."""
        partner_ids = list(command.partner_ids)
        existing = self.find_agreement(ctx.tenant, partner_ids)
        if existing is not None:
            raise Conflict(
                f"the couple already has agreement {existing.id}: revise it "
                f"(POST /agreements/{existing.id}/revisions) instead"
            )
        agreement = SharingAgreement.draft(
            tenant=ctx.tenant,
            partner_ids=partner_ids,
            mode=command.mode,
            carve_outs=_listed(command.carve_outs),
        )
        self.save_as(ctx, agreement)
        return dict(agreement.view())

    def sign_agreement(
        self,
        *,
        ctx: CommandContext,
        agreement_id: UUID | str,
        command: SignAgreement,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        agreement = self.load(SharingAgreement, agreement_id, ctx.tenant)
        check_version(agreement.version, expected_version)
        signed_on = self.past_or_today(command.signed_on, "signed_on")
        agreement.sign(partner_id=command.partner_id, signed_on=signed_on)
        self.save_as(ctx, agreement)
        return dict(agreement.view())

    def revise_agreement(
        self,
        *,
        ctx: CommandContext,
        agreement_id: UUID | str,
        command: ReviseAgreement,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        agreement = self.load(SharingAgreement, agreement_id, ctx.tenant)
        check_version(agreement.version, expected_version)
        agreement.revise(mode=command.mode, carve_outs=_listed(command.carve_outs))
        self.save_as(ctx, agreement)
        return dict(agreement.view())

    def get_agreement(self, *, tenant: str, agreement_id: UUID | str) -> dict[str, Any]:
        return dict(self.load(SharingAgreement, agreement_id, tenant).view())

    def couple_agreement(self, *, tenant: str, partner_ids: list[str]) -> dict[str, Any]:
        """The agreement of two partners (404 when they have none)."""
        found = self.find_agreement(tenant, partner_ids)
        if found is None:
            raise NotFound(f"no agreement between {' and '.join(sorted(set(partner_ids)))}")
        return dict(found.view())

    # -- consent directives -----------------------------------------------------------------

    def create_consent(self, *, ctx: CommandContext, command: RecordConsent) -> dict[str, Any]:
        """A new directive, filed under its person (422 naming every missing element)."""
        consent = ConsentDirective.create(tenant=ctx.tenant, terms=dict(command.terms))
        person_file = self.person_file(ctx.tenant, consent.person_id)
        person_file.file_consent(consent_id=str(consent.id))
        self.save_as(ctx, consent, person_file)
        return dict(consent.view())

    def change_consent(
        self,
        *,
        ctx: CommandContext,
        consent_id: UUID | str,
        command: ChangeConsent,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Activate, reject, revoke (whole or one recipient), expire or void a directive."""
        consent: ConsentDirective = self.load(ConsentDirective, consent_id, ctx.tenant)
        check_version(consent.version, expected_version)
        day = self.past_or_today(command.on, "on")
        match command:
            case ActivateConsent():
                consent.activate(on=day)
            case RejectConsent():
                consent.reject(on=day)
            case RevokeConsent(recipient_id=str() as recipient_id, in_writing=in_writing):
                consent.revoke_recipient(recipient_id=recipient_id, on=day, in_writing=in_writing)
            case RevokeConsent(in_writing=in_writing):
                consent.revoke(on=day, in_writing=in_writing)
            case MarkConsentEnteredInError():
                consent.enter_in_error(on=day)
            case ExpireConsent(expiry_event=expiry_event):
                consent.expire(on=day, expiry_event=expiry_event)
            case _:
                raise TypeError(f"not a change of a consent: {command!r}")
        self.save_as(ctx, consent)
        return dict(consent.view())

    def get_consent(
        self, *, tenant: str, consent_id: UUID | str, version: int | None = None
    ) -> dict[str, Any]:
        return dict(self.load(ConsentDirective, consent_id, tenant, version=version).view())

    def consent_history(self, *, tenant: str, consent_id: UUID | str) -> list[dict[str, Any]]:
        consent = self.load(ConsentDirective, consent_id, tenant)
        return self.history_records(consent.id)

    # -- decisions --------------------------------------------------------------------------

    def decide(
        self,
        *,
        ctx: CommandContext,
        command: Decide,
        records: Sequence[RecordRef] = (),
        token: str | None = None,
    ) -> dict[str, Any]:
        """Answer PERMIT, DENY or NO_CONSENT and record the answer as an event.

        The actor is the one the API placed (the caller, or the end caller a service names); its
        role is the caller's; the labels are the declared ones, the named records' own and what
        the categories imply.
        """
        request, about_partner_of = command.request, command.about_partner_of
        recipient = request.recipient.canonical()
        if (request.actor_role, request.recipient) != (ctx.actor_role, recipient):
            request = dataclasses.replace(request, actor_role=ctx.actor_role, recipient=recipient)
        check_request(request, about_partner_of=about_partner_of)
        found = self.records.labels(list(records), token=token)
        if found:
            request = dataclasses.replace(
                request,
                labels=request.labels.union(*(r.labels for r in found)),
                individual_session=request.individual_session
                or any(r.individual_session for r in found),
            )
        consents = [c.terms() for c in self.consents_of(ctx.tenant, request.person_id)]
        agreement = None
        if request.recipient.kind == "partner" and request.recipient.id is not None:
            agreement = self.agreement_in_force(ctx.tenant, request.person_id, request.recipient.id)
        outcome = decide(request, consents, agreement)
        decision = Decision.record(
            tenant=ctx.tenant,
            request=request,
            outcome=outcome,
            validity=self.decision_validity,
            records=[r.as_dict() for r in found],
        )
        self.save_as(ctx, decision)
        return dict(decision.view())

    def close_review(
        self,
        *,
        ctx: CommandContext,
        decision_id: UUID | str,
        command: CloseReview,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        decision = self.load(Decision, decision_id, ctx.tenant)
        check_version(decision.version, expected_version)
        decision.close_review(finding=command.finding, reviewer_id=ctx.actor_id, note=command.note)
        self.save_as(ctx, decision)
        return dict(decision.view())

    def decisions(
        self, *, tenant: str, query: DecisionFilter | None = None, window: Window | None = None
    ) -> Found:
        """One page of a tenant's decisions matching `query`, oldest first."""
        return self._page(tenant, (query or DecisionFilter()).where(), window)

    def review_queue(self, *, tenant: str, window: Window | None = None) -> Found:
        """Break-glass and carve-out decisions not yet closed by compliance, oldest first."""
        return self._page(tenant, REVIEW_OPEN, window)

    def _page(self, tenant: str, where: list[Condition], window: Window | None) -> Found:
        found = self.decision_log.page(
            self, tenant=tenant, where=where, order=ORDER, window=window or Window()
        )
        rows = [{k: v for k, v in r["data"].items() if k != "tenant"} for r in found.rows]
        return dataclasses.replace(found, rows=rows)


def _listed(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)
