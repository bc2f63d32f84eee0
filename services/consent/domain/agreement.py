"""The couple's information-sharing agreement: versioned terms that both partners sign."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.common.errors import Conflict, RuleBroken
from services.common.events import published
from services.common.ids import canonical_id, stable_id
from services.consent.domain.terms import CARVE_OUTS, AgreementTerms, check_values, require

MODES = ("no-secrets", "limited-secrets", "strict")
_NAMESPACE = UUID("8f4b2d3e-9a51-4c57-a7a8-2b1f6c0de001")


def couple(partner_ids: list[str]) -> list[str]:
    """The couple as sorted canonical ids: how two spellings of one couple compare equal."""
    return sorted({canonical_id(p) for p in partner_ids})


def agreement_id(tenant: str, partner_ids: list[str]) -> UUID:
    """One agreement per couple and practice; its versions are the signed terms over time."""
    return stable_id(_NAMESPACE, tenant, "agreement", couple(partner_ids))


def legacy_agreement_id(tenant: str, partner_ids: list[str]) -> UUID:
    """The id agreements drafted before `stable_id` got (tenant and ids joined with ':').

    Ambiguous by construction, so whoever loads by it must check tenant and partners.
    """
    return uuid.uuid5(_NAMESPACE, f"{tenant}:" + ":".join(sorted(partner_ids)))


def _check_terms(mode: str, carve_outs: list[str]) -> None:
    errors = check_values("mode", [mode], MODES)
    errors.update(check_values("carve_outs", carve_outs, CARVE_OUTS))
    require(errors, "the agreement terms are not valid")


class SharingAgreement(Aggregate):
    """No-secrets, limited-secrets or strict; terms take effect once both partners sign them."""

    @staticmethod
    def create_id(tenant: str, partner_ids: list[str]) -> UUID:
        return agreement_id(tenant, partner_ids)

    @classmethod
    def draft(
        cls, *, tenant: str, partner_ids: list[str], mode: str, carve_outs: list[str] | None
    ) -> SharingAgreement:
        """New terms (version 1) between two partners; nothing is in force until both sign."""
        partners = sorted(set(partner_ids))
        if len(partners) != 2 or len(couple(partners)) != 2:
            raise RuleBroken(
                "an agreement is between two partners",
                errors={"partner_ids": "give exactly two different person ids"},
            )
        chosen = sorted(CARVE_OUTS) if carve_outs is None else sorted(set(carve_outs))
        _check_terms(mode, chosen)
        return cls(tenant=tenant, partner_ids=partners, mode=mode, carve_outs=chosen)

    @published(labels=["N"])
    @event("AgreementDrafted")
    def __init__(
        self, *, tenant: str, partner_ids: list[str], mode: str, carve_outs: list[str]
    ) -> None:
        self.tenant = tenant
        self.partner_ids = list(partner_ids)
        self.terms_version = 1
        self.mode = mode
        self.carve_outs = list(carve_outs)
        self.signatures: dict[str, str] = {}
        self.in_force: dict[str, Any] | None = None

    def sign(self, *, partner_id: str, signed_on: dt.date) -> None:
        """One partner signs the current terms; the second signature puts them in force."""
        partner_id = self.partner(partner_id)
        if partner_id in self.signatures:
            raise Conflict(
                f"partner {partner_id} already signed version {self.terms_version} of the terms"
            )
        self._signed(partner_id=partner_id, signed_on=signed_on, terms_version=self.terms_version)

    def partner(self, partner_id: str) -> str:
        """The partner id as the agreement holds it; 422 for someone not party to it."""
        for held in self.partner_ids:
            if canonical_id(held) == canonical_id(partner_id):
                return held
        raise RuleBroken(
            "only a partner of the agreement can sign it",
            errors={"partner_id": f"must be one of {', '.join(self.partner_ids)}"},
        )

    def between(self, tenant: str, partner_ids: list[str]) -> bool:
        """Whether this is the agreement of exactly these two partners in this practice."""
        return self.tenant == tenant and couple(self.partner_ids) == couple(partner_ids)

    @published(labels=["N"])
    @event("AgreementSigned")
    def _signed(self, partner_id: str, signed_on: dt.date, terms_version: int) -> None:
        self.signatures[partner_id] = signed_on.isoformat()
        if set(self.signatures) == set(self.partner_ids):
            self.in_force = {
                "terms_version": terms_version,
                "mode": self.mode,
                "carve_outs": list(self.carve_outs),
                "aggregate_version": self.version + 1,  # applied before the bump
                "signatures": dict(self.signatures),
            }

    def revise(self, *, mode: str, carve_outs: list[str] | None) -> None:
        """New terms; the terms in force stay in force until both partners sign the new ones."""
        chosen = sorted(CARVE_OUTS) if carve_outs is None else sorted(set(carve_outs))
        _check_terms(mode, chosen)
        self._revised(mode=mode, carve_outs=chosen, terms_version=self.terms_version + 1)

    @published(labels=["N"])
    @event("AgreementRevised")
    def _revised(self, mode: str, carve_outs: list[str], terms_version: int) -> None:
        self.mode = mode
        self.carve_outs = list(carve_outs)
        self.terms_version = terms_version
        self.signatures = {}

    def terms_in_force(self) -> AgreementTerms | None:
        if self.in_force is None:
            return None
        return AgreementTerms(
            agreement_id=str(self.id),
            version=int(self.in_force["aggregate_version"]),
            mode=str(self.in_force["mode"]),
            partner_ids=frozenset(self.partner_ids),
            carve_outs=tuple(self.in_force["carve_outs"]),
        )

    def view(self) -> dict[str, Any]:
        return {
            "agreement_id": str(self.id),
            "version": self.version,
            "partner_ids": list(self.partner_ids),
            "pending_terms": {
                "terms_version": self.terms_version,
                "mode": self.mode,
                "carve_outs": list(self.carve_outs),
                "signatures": dict(self.signatures),
            },
            "in_force": dict(self.in_force) if self.in_force is not None else None,
        }
