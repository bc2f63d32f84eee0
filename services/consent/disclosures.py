"""Disclosures (made now, recorded late, or a referral sent) and the accounting of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from services.common.context import CommandContext
from services.common.errors import NotFound, RuleBroken
from services.consent.accounting import accounting_rows, accounting_window
from services.consent.disclosure_rows import ORDER, of_person, shown
from services.consent.domain import (
    Accounting,
    ConsentDirective,
    Disclosure,
    NotedDisclosure,
    SharingAgreement,
)
from services.consent.domain.commands import (
    ProduceAccounting,
    RecordDisclosure,
    RecordLateDisclosure,
)
from services.consent.domain.disclosure import (
    CLOCK_SKEW,
    disclosure_id,
    fit,
    raise_mismatches,
    unmet,
)
from services.consent.domain.policy import latest_revocation
from services.consent.domain.terms import Recipient
from services.consent.store import ConsentStore, as_uuid


class DisclosureCommands(ConsentStore):
    """Every disclosure is filed under its person in the same transaction (the accounting)."""

    def record_disclosure(
        self, *, ctx: CommandContext, command: RecordDisclosure
    ) -> dict[str, Any]:
        """A disclosure made now, by the caller, on their PERMIT that is still valid."""
        terms = dict(command.terms)
        now = self.clock()
        decision = self._decision_for(terms["decision_id"], ctx.tenant)
        _not_future(terms["disclosed_at"], now)
        given = {**terms, "disclosed_by": ctx.actor_id}
        found = fit(decision, given)
        if now > decision["valid_until"]:
            found["decision_id"] = (
                f"the decision expired at {decision['valid_until'].isoformat()}: ask again"
            )
        found.update(unmet(decision, terms.get("obligations_met") or []))
        found.update(self.basis_problems(decision, ctx.tenant, now))
        raise_mismatches(found)
        disclosure = Disclosure.on_decision(
            tenant=ctx.tenant, decision=decision, terms=given, recorded_by=ctx.actor_id
        )
        return self._file(ctx, disclosure)

    def record_late_disclosure(
        self, *, ctx: CommandContext, command: RecordLateDisclosure
    ) -> dict[str, Any]:
        """A disclosure made earlier (outside the system, or imported) on the basis it had then."""
        terms = dict(command.terms)
        _not_future(terms["disclosed_at"], self.clock())
        basis = terms["basis"]
        disclosure: Disclosure | NotedDisclosure
        if basis["kind"] == "decision":
            decision = self._decision_for(basis["decision_id"], ctx.tenant, "basis.decision_id")
            found = fit(decision, terms)
            found.update(unmet(decision, terms.get("obligations_met") or []))
            raise_mismatches(found)
            disclosure = Disclosure.on_decision(
                tenant=ctx.tenant,
                decision=decision,
                terms=terms,
                recorded_by=ctx.actor_id,
                source=terms["source"],
                late=True,
            )
        else:
            if (
                basis["kind"] == "paper-consent"
                and basis["signed_on"] > terms["disclosed_at"].date()
            ):
                raise RuleBroken(
                    "the paper consent was signed after the disclosure",
                    errors={"basis.signed_on": "a consent signed later is no basis for it"},
                )
            disclosure = NotedDisclosure.on_record(
                tenant=ctx.tenant,
                terms=terms,
                basis=basis,
                recorded_by=ctx.actor_id,
                source=terms["source"],
            )
        return self._file(ctx, disclosure)

    def referral_sent(
        self, *, tenant: str, body: Mapping[str, Any], actor: str, source_ref: str
    ) -> list[Any]:
        """The unsaved disclosure (and person file) of one referral send, or [] if recorded.

        A send is recorded even when it does not fit its decision (it happened); `problems`
        then says why, for compliance.
        """
        if self.exists(disclosure_id(source_ref)):
            return []
        org = dict(body.get("organization") or {})
        decision = self._decision_or_none(body.get("decision_id"), tenant)
        named = decision["recipient"] if decision is not None else {}
        recipient = {
            "kind": "organization",
            "id": org.get("id"),
            "name": named.get("name") or org.get("name"),
            "address": named.get("address") or org.get("address"),
        }
        person_id = str(body["client_id"])
        terms: dict[str, Any] = {
            "person_id": person_id,
            "recipient": {k: v for k, v in recipient.items() if v is not None},
            "description": f"referral ({body.get('referral_type')}) sent",
            "purpose": decision["purpose"] if decision is not None else "TREAT",
            "categories": decision["categories"] if decision is not None else ["referral"],
            "disclosed_at": dt.datetime.fromisoformat(str(body["at"])),
            "disclosed_by": actor,
        }
        found: Disclosure | NotedDisclosure
        if decision is None:
            found = NotedDisclosure.on_unknown_decision(
                tenant=tenant,
                terms=terms,
                decision_id=str(body.get("decision_id")),
                labels=list(body.get("security_labels") or ()),
                recorded_by=actor,
                source_ref=source_ref,
            )
        else:
            found = Disclosure.on_decision(
                tenant=tenant,
                decision=decision,
                terms=terms,
                recorded_by=actor,
                source="referral-send",
                problems=fit(decision, terms),
                source_ref=source_ref,
                extra_labels=body.get("security_labels") or (),
            )
        person_file = self.person_file(tenant, person_id)
        person_file.file_disclosure(disclosure_id=str(found.id))
        return [found, person_file]

    def disclosures_of(
        self,
        tenant: str,
        person_id: str,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The person's disclosures made in [start, end), in the order they were recorded
        (the disclosures read model, by index: disclosure_rows.py)."""
        rows = self.disclosure_log.rows(
            self, tenant=tenant, where=of_person(person_id, start, end), order=ORDER
        )
        return [shown(r) for r in rows]

    def account(
        self, *, ctx: CommandContext, person_id: str, command: ProduceAccounting
    ) -> dict[str, Any]:
        """The accounting of the person's disclosures; producing it is recorded (who, window)."""
        window = accounting_window(self.clock(), command.start, command.end)
        made = self.disclosures_of(ctx.tenant, person_id, start=window["from"], end=window["to"])
        lines, excluded = accounting_rows(made, window)
        record = Accounting(
            tenant=ctx.tenant,
            person_id=person_id,
            requested_by=ctx.actor_id,
            period_from=window["from"],
            period_to=window["to"],
            hipaa_from=window["hipaa_from"],
            part2_from=window["part2_from"],
            format=command.format,
            disclosure_ids=[r["disclosure_id"] for r in lines],
            excluded_ids=[r["disclosure_id"] for r in excluded],
        )
        self.save_as(ctx, record)
        return {
            "accounting_id": str(record.id),
            "person_id": person_id,
            "window": window,
            "items": lines,
            "total": len(lines),
            "excluded": excluded,
        }

    def basis_problems(
        self, decision: Mapping[str, Any], tenant: str, now: dt.datetime
    ) -> dict[str, str]:
        """What changed since the decision so that it no longer holds (consent, agreement,
        recipient)."""
        basis, problems = decision["basis"], {}
        if basis.get("consent_id"):
            key = as_uuid(basis["consent_id"], ConsentDirective)
            consent = self.read(ConsentDirective, key, tenant)
            why = "no longer exists" if consent is None else consent.terms().in_force(now.date())
            if why:
                problems["consent"] = (
                    f"consent {basis['consent_id']}: {why}; ask for a new decision"
                )
        if basis.get("agreement_id"):
            agreement = self.read(SharingAgreement, UUID(basis["agreement_id"]), tenant)
            terms = agreement.terms_in_force() if agreement is not None else None
            if terms is None or terms.version != basis.get("agreement_version"):
                problems["agreement"] = "the agreement's terms changed: ask for a new decision"
        person = decision["person_id"]
        recipient = Recipient.from_dict(decision["recipient"])
        consents = [c.terms() for c in self.consents_of(tenant, person)]
        revoked = latest_revocation(person, recipient, consents)
        if revoked is not None and revoked[1].revoked_on >= decision["decided_at"].date():
            problems["recipient"] = "the person revoked this recipient since the decision"
        return problems

    def _decision_for(self, ident: Any, tenant: str, field: str = "decision_id") -> dict[str, Any]:
        found = self._decision_or_none(ident, tenant)
        if found is None:
            raise RuleBroken(
                "a disclosure rests on a recorded decision",
                errors={field: "no such decision: ask POST /decisions first"},
            )
        return found

    def _decision_or_none(self, ident: Any, tenant: str) -> dict[str, Any] | None:
        try:
            return self.get_decision(ident, tenant)
        except NotFound:
            return None

    def _file(
        self, ctx: CommandContext, disclosure: Disclosure | NotedDisclosure
    ) -> dict[str, Any]:
        person_file = self.person_file(ctx.tenant, disclosure.person_id)
        person_file.file_disclosure(disclosure_id=str(disclosure.id))
        self.save_as(ctx, disclosure, person_file)
        return dict(disclosure.view())


def _not_future(disclosed_at: dt.datetime, now: dt.datetime) -> None:
    if disclosed_at > now + CLOCK_SKEW:
        raise RuleBroken(
            "a disclosure is recorded once made",
            errors={"disclosed_at": "must not be in the future"},
        )
