"""The consent Application: agreements, directives, decisions, disclosures and their queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.common.context import CommandContext
from services.common.errors import Conflict, NotFound, RuleBroken
from services.common.store import CareApplication, check_version
from services.consent.domain import (
    ConsentDirective,
    Decision,
    Disclosure,
    PersonFile,
    SharingAgreement,
)
from services.consent.domain.agreement import agreement_id
from services.consent.domain.policy import decide
from services.consent.domain.requests import check_request
from services.consent.domain.terms import AgreementTerms, DecisionRequest
from services.consent.projections import DecisionSource, InMemoryDecisions, matches


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ConsentApplication(CareApplication):
    """Commands return plain data plus the new version (for the ETag), never an aggregate."""

    name: ClassVar[str] = "consent"  # type: ignore[misc]

    def __init__(self, env: Any = None) -> None:
        super().__init__(env)
        self.clock: Callable[[], dt.datetime] = utc_now  # tests set a fixed clock
        self.decision_log: DecisionSource = InMemoryDecisions()  # PostgreSQL: bootstrap.py

    # -- agreements -------------------------------------------------------------------------

    def draft_agreement(
        self, *, partner_ids: list[str], mode: str, carve_outs: list[str] | None,
        ctx: CommandContext,
    ) -> dict[str, Any]:  # fmt: skip
        """Terms between two partners; 409 when the couple already has an agreement."""
        existing = agreement_id(ctx.tenant, partner_ids)
        if self._exists(existing):
            raise Conflict(
                f"the couple already has agreement {existing}: revise it "
                f"(POST /agreements/{existing}/revisions) instead"
            )
        agreement = SharingAgreement.draft(
            tenant=ctx.tenant, partner_ids=partner_ids, mode=mode, carve_outs=carve_outs
        )
        self.save_as(ctx, agreement)
        return dict(agreement.view())

    def sign_agreement(
        self, agreement_id: UUID | str, *, partner_id: str, signed_on: dt.date | None,
        ctx: CommandContext, expected_version: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        agreement = self.load(SharingAgreement, agreement_id, ctx.tenant)
        check_version(agreement.version, expected_version)
        agreement.sign(partner_id=partner_id, signed_on=self._past_or_today(signed_on, "signed_on"))
        self.save_as(ctx, agreement)
        return dict(agreement.view())

    def revise_agreement(
        self, agreement_id: UUID | str, *, mode: str, carve_outs: list[str] | None,
        ctx: CommandContext, expected_version: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        agreement = self.load(SharingAgreement, agreement_id, ctx.tenant)
        check_version(agreement.version, expected_version)
        agreement.revise(mode=mode, carve_outs=carve_outs)
        self.save_as(ctx, agreement)
        return dict(agreement.view())

    def get_agreement(self, agreement_id: UUID | str, tenant: str) -> dict[str, Any]:
        return dict(self.load(SharingAgreement, agreement_id, tenant).view())

    def couple_agreement(self, tenant: str, partner_ids: list[str]) -> dict[str, Any]:
        """The agreement of two partners (404 when they have none)."""
        return self.get_agreement(agreement_id(tenant, partner_ids), tenant)

    def agreement_in_force(
        self, tenant: str, person_a: str, person_b: str
    ) -> AgreementTerms | None:
        try:
            agreement: SharingAgreement = self.repository.get(
                agreement_id(tenant, [person_a, person_b]), deepcopy_from_cache=False
            )
        except AggregateNotFoundError:
            return None
        terms: AgreementTerms | None = agreement.terms_in_force()
        return terms

    # -- consent directives -----------------------------------------------------------------

    def create_consent(self, *, terms: dict[str, Any], ctx: CommandContext) -> dict[str, Any]:
        """A new directive, filed under its person (422 naming every missing element)."""
        consent = ConsentDirective.create(tenant=ctx.tenant, terms=terms)
        person_file = self._person_file(ctx.tenant, consent.person_id)
        person_file.file_consent(consent_id=str(consent.id))
        self.save_as(ctx, consent, person_file)
        return dict(consent.view())

    def change_consent(
        self, consent_id: UUID | str, action: str, *, ctx: CommandContext,
        expected_version: int | None = None, on: dt.date | None = None,
        in_writing: bool = False, recipient_id: str | None = None,
        expiry_event: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Activate, reject, revoke (whole or one recipient), expire or void a directive."""
        consent: ConsentDirective = self.load(ConsentDirective, consent_id, ctx.tenant)
        check_version(consent.version, expected_version)
        day = self._past_or_today(on, "on")
        if action == "activate":
            consent.activate(on=day)
        elif action == "reject":
            consent.reject(on=day)
        elif action == "revoke" and recipient_id is not None:
            consent.revoke_recipient(recipient_id=recipient_id, on=day, in_writing=in_writing)
        elif action == "revoke":
            consent.revoke(on=day, in_writing=in_writing)
        elif action == "enter-in-error":
            consent.enter_in_error(on=day)
        elif action == "expire":
            consent.expire(on=day, expiry_event=expiry_event)
        else:
            raise ValueError(f"unknown consent action {action!r}")
        self.save_as(ctx, consent)
        return dict(consent.view())

    def get_consent(
        self, consent_id: UUID | str, tenant: str, *, version: int | None = None
    ) -> dict[str, Any]:
        return dict(self.load(ConsentDirective, consent_id, tenant, version=version).view())

    def consent_history(self, consent_id: UUID | str, tenant: str) -> list[dict[str, Any]]:
        consent = self.load(ConsentDirective, consent_id, tenant)
        return self.history_records(consent.id)

    def consents_of(self, tenant: str, person_id: str) -> list[ConsentDirective]:
        """The person's consents as they are now, shared with the cache: read, never change them."""
        person_file = self._find_person_file(tenant, person_id, reading=True)
        if person_file is None:
            return []
        return [
            self.repository.get(UUID(c), deepcopy_from_cache=False) for c in person_file.consent_ids
        ]

    # -- decisions --------------------------------------------------------------------------

    def decide(self, *, request: DecisionRequest, ctx: CommandContext) -> dict[str, Any]:
        """Answer PERMIT, DENY or NO_CONSENT and record the answer as an event."""
        check_request(request)
        consents = [c.terms() for c in self.consents_of(ctx.tenant, request.person_id)]
        agreement = None
        if request.recipient.kind == "partner" and request.individual_session:
            partner = request.about_partner_of or request.recipient.id or ""
            agreement = self.agreement_in_force(ctx.tenant, request.person_id, partner)
        outcome = decide(request, consents, agreement)
        decision = Decision.record(tenant=ctx.tenant, request=request, outcome=outcome)
        self.save_as(ctx, decision)
        return dict(decision.view())

    def get_decision(self, decision_id: UUID | str, tenant: str) -> dict[str, Any]:
        return dict(self.load(Decision, decision_id, tenant).view())

    def close_review(
        self, decision_id: UUID | str, *, finding: str, note: str | None, ctx: CommandContext,
        expected_version: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        decision = self.load(Decision, decision_id, ctx.tenant)
        check_version(decision.version, expected_version)
        decision.close_review(finding=finding, reviewer_id=ctx.actor_id, note=note)
        self.save_as(ctx, decision)
        return dict(decision.view())

    def decisions(
        self, tenant: str, *, outcome: str | None = None, break_glass: bool | None = None,
        start: dt.datetime | None = None, end: dt.datetime | None = None,
        person_id: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Decisions of a tenant in [start, end), optionally by outcome, break-glass or person."""
        filters = {"outcome": outcome, "break_glass": break_glass, "person_id": person_id,
                   "start": start, "end": end}  # fmt: skip
        rows = [
            {k: v for k, v in row.items() if k != "tenant"}
            for row in self.decision_log.of_tenant(self, tenant)
            if matches(row, filters)
        ]
        return sorted(rows, key=lambda r: r["decided_at"])

    def review_queue(self, tenant: str) -> list[dict[str, Any]]:
        """Break-glass decisions that no compliance user has closed yet, oldest first."""
        return [r for r in self.decisions(tenant) if r["review_required"] and r["review"] is None]

    # -- disclosures ------------------------------------------------------------------------

    def record_disclosure(self, *, terms: dict[str, Any], ctx: CommandContext) -> dict[str, Any]:
        """A disclosure made; 409 naming each way it does not match its PERMIT decision."""
        try:
            decision_id = _uuid(terms["decision_id"], Decision)
            decision = self.get_decision(decision_id, ctx.tenant)
        except NotFound:
            raise RuleBroken(
                "a disclosure rests on a recorded decision",
                errors={"decision_id": "no such decision: ask POST /decisions first"},
            ) from None
        if terms["disclosed_at"] > self.clock() + dt.timedelta(minutes=5):
            raise RuleBroken(
                "a disclosure is recorded once made",
                errors={"disclosed_at": "must not be in the future"},
            )
        disclosure = Disclosure.record(
            tenant=ctx.tenant,
            decision=decision,
            terms={**terms, "decision_id": str(decision_id), "disclosed_by": ctx.actor_id},
        )
        person_file = self._person_file(ctx.tenant, disclosure.person_id)
        person_file.file_disclosure(disclosure_id=str(disclosure.id))
        self.save_as(ctx, disclosure, person_file)
        return dict(disclosure.view())

    def disclosures_of(self, tenant: str, person_id: str) -> list[dict[str, Any]]:
        person_file = self._find_person_file(tenant, person_id, reading=True)
        if person_file is None:
            return []
        return [
            dict(self.repository.get(UUID(d), deepcopy_from_cache=False).view())
            for d in person_file.disclosure_ids
        ]

    # -- helpers ----------------------------------------------------------------------------

    def load(
        self, aggregate_cls: type[Any], aggregate_id: UUID | str, tenant: str, *,
        version: int | None = None,
    ) -> Any:  # fmt: skip
        """As the base, accepting an id as text (an unparseable id is simply not found)."""
        key = _uuid(aggregate_id, aggregate_cls)
        return super().load(aggregate_cls, key, tenant, version=version)

    def _past_or_today(self, day: dt.date | None, field: str) -> dt.date:
        today = self.clock().date()
        if day is not None and day > today:
            raise RuleBroken(
                f"'{field}' is in the future", errors={field: "use today or a past date"}
            )
        return day or today

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _find_person_file(
        self, tenant: str, person_id: str, *, reading: bool = False
    ) -> PersonFile | None:
        """The person's file; `reading` shares the cached one (to read only, never change)."""
        try:
            found: PersonFile = self.repository.get(
                PersonFile.create_id(tenant, person_id), deepcopy_from_cache=not reading
            )
        except AggregateNotFoundError:
            return None
        return found

    def _person_file(self, tenant: str, person_id: str) -> PersonFile:
        return self._find_person_file(tenant, person_id) or PersonFile(
            tenant=tenant, person_id=person_id
        )


def _uuid(value: Any, aggregate_cls: type[Any]) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise NotFound(f"no {aggregate_cls.__name__.lower()} {value}") from None
