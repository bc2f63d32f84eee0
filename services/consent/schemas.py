"""HTTP request bodies of the consent API (pydantic), separate from events and contracts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from contracts.categories import Category
from services.common.validation import RequestModel
from services.consent.domain.commands import Decide
from services.consent.domain.terms import BreakGlass, DecisionRequest, Recipient
from services.consent.domain.terms import CarveOut as CarveOutTerms

Purpose = Literal["TREAT", "COC", "HPAYMT", "HOPERAT", "FAMRQT", "PATRQT"]
RecipientKind = Literal["partner", "family-member", "provider", "organization", "ehr", "payer"]
Label = Literal["42CFRPart2", "ETH", "PSY", "PSYTHPN", "SDV", "HIV", "R"]
Mode = Literal["no-secrets", "limited-secrets", "strict"]
CarveOut = Literal["imminent-safety-threat", "mandated-reporting", "court-order"]
BreakGlassKind = Literal[
    "medical-emergency", "imminent-threat", "mandated-reporting", "court-order"
]
Id = Field(min_length=1, max_length=200)
IdText = Annotated[str, Field(min_length=1, max_length=200)]
MAX_DEPTH = 5


class Body(RequestModel):
    """Request bodies: unknown fields refused; every value checked by the kit (validation.py)."""


class RecipientIn(Body):
    """A named recipient (`id`), or in a consent a general designation (`id` null)."""

    kind: RecipientKind
    id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200, description="PHI when a person")
    designation: str | None = Field(default=None, max_length=200)


class DecisionRecipient(RecipientIn):
    """The one recipient a decision is about (by id); name and address go to the accounting."""

    address: str | None = Field(default=None, max_length=500, description="PHI when a person")


class DisclosedTo(DecisionRecipient):
    id: str = Id


class AgreementIn(Body):
    partner_ids: list[IdText] = Field(min_length=2, max_length=2)
    mode: Mode
    carve_outs: list[CarveOut] | None = Field(
        default=None,
        max_length=3,
        description="default: all three (safety threat, mandated report, court)",
    )


class RevisionIn(Body):
    mode: Mode
    carve_outs: list[CarveOut] | None = Field(default=None, max_length=3)


class SignatureIn(Body):
    partner_id: str = Id
    signed_on: dt.date | None = Field(default=None, description="default: today")


class ProvisionIn(Body):
    type: Literal["permit", "deny"]
    recipients: list[RecipientIn] = Field(default_factory=list, max_length=50)
    purposes: list[Purpose] = Field(default_factory=list, max_length=20)
    categories: list[Category] = Field(default_factory=list, max_length=20)
    labels: list[Label] = Field(default_factory=list, max_length=20)
    provisions: list[ProvisionIn] = Field(default_factory=list, max_length=20)


class ConsentSignature(Body):
    signed_by: str | None = Field(default=None, max_length=200)
    signed_on: dt.date | None = None


class ConsentIn(Body):
    """A consent directive; with `part2` true every 42 CFR 2.31 element is required."""

    person_id: str = Id
    status: Literal["draft", "proposed"] = "draft"
    scope: Literal["patient-privacy", "treatment"] = "patient-privacy"
    part2: bool = False
    disclosers: list[IdText] = Field(default_factory=list, max_length=20)
    description: str | None = Field(default=None, max_length=2000)
    recipients: list[RecipientIn] = Field(min_length=1, max_length=50)
    purposes: list[Purpose] = Field(min_length=1, max_length=20)
    categories: list[Category] = Field(min_length=1, max_length=20)
    labels: list[Label] = Field(default_factory=list, max_length=20)
    provision_type: Literal["permit", "deny"] = "permit"
    provisions: list[ProvisionIn] = Field(default_factory=list, max_length=20)
    start: dt.date | None = None
    end: dt.date | None = None
    expiry_event: str | None = Field(default=None, max_length=500)
    revocation_right_acknowledged: bool = False
    signature: ConsentSignature | None = None

    @field_validator("provisions")
    @classmethod
    def _shallow(cls, value: list[ProvisionIn]) -> list[ProvisionIn]:
        if _depth(value) > MAX_DEPTH:
            raise ValueError(f"provisions nest at most {MAX_DEPTH} levels deep")
        return value

    def terms(self) -> dict[str, Any]:
        data = self.model_dump(mode="python")
        data["recipients"] = [_recipient(r) for r in data["recipients"]]
        data["provisions"] = [_provision(p) for p in data["provisions"]]
        signature = data["signature"]
        if signature is not None:
            signed_on = signature["signed_on"]
            signature["signed_on"] = signed_on.isoformat() if signed_on else None
        return dict(data)


class RevocationIn(Body):
    recipient_id: str | None = Field(
        default=None, max_length=200, description="revoke only this recipient"
    )
    in_writing: bool = Field(default=False, description="required true for a Part 2 consent")
    on: dt.date | None = None


class ExpiryIn(Body):
    on: dt.date | None = None
    expiry_event: str | None = Field(default=None, max_length=500)


class DecisionContext(Body):
    individual_session: bool = False
    about_partner_of: str | None = Field(
        default=None,
        max_length=200,
        description="not needed: the agreement is the one between the person and the partner "
        "who receives it (if given, it must be that partner's id)",
    )


Detail = Field(default=None, max_length=500, description="42 CFR 2.51 (free text)")


class BreakGlassIn(Body):
    """A medical emergency or imminent threat: a clinician, treatment, a provider."""

    kind: BreakGlassKind
    justification: str = Field(min_length=1, max_length=2000)
    received_by: str | None = Detail
    affiliation: str | None = Detail
    nature_of_emergency: str | None = Detail


class CarveOutIn(Body):
    kind: CarveOut
    justification: str = Field(min_length=1, max_length=2000)


class RecordIn(Body):
    """A stored record the information comes from: its own labels count."""

    kind: Literal["plan", "session", "referral"]
    id: str = Id
    plan_id: str | None = Field(default=None, max_length=200, description="for a session")


class DecisionIn(Body):
    """May the caller disclose these categories and labels of the person to the recipient?"""

    person_id: str = Id
    recipient: DecisionRecipient
    purpose: Purpose
    categories: list[Category] = Field(min_length=1, max_length=20)
    labels: list[Label] = Field(
        default_factory=list, max_length=20, description="can only add to derived ones"
    )
    records: list[RecordIn] = Field(default_factory=list, max_length=20)
    context: DecisionContext = Field(default_factory=DecisionContext)
    break_glass: BreakGlassIn | None = None
    carve_out: CarveOutIn | None = None

    def command(self, *, actor_id: str, at: dt.datetime) -> Decide:
        """The question as the decision point takes it, asked by `actor_id` at `at`."""
        glass, carve = self.break_glass, self.carve_out
        request = DecisionRequest(
            person_id=self.person_id,
            actor_id=actor_id,
            recipient=Recipient(**self.recipient.model_dump()),
            purpose=self.purpose,
            categories=frozenset(self.categories),
            labels=frozenset(self.labels),
            at=at,
            individual_session=self.context.individual_session,
            break_glass=BreakGlass(**glass.model_dump()) if glass else None,
            carve_out=CarveOutTerms(**carve.model_dump()) if carve else None,
        )
        return Decide(request=request, about_partner_of=self.context.about_partner_of)


class ReviewIn(Body):
    finding: Literal["justified", "not-justified", "needs-follow-up"]
    note: str | None = Field(default=None, max_length=2000)


Obligation = Literal["attach-part2-notice", "redact"]


class Disclosed(Body):
    """What left the practice, to whom, when and why (shared by both ways of recording it)."""

    person_id: str = Id
    recipient: DisclosedTo
    description: str = Field(min_length=1, max_length=2000)
    categories: list[Category] = Field(min_length=1, max_length=20)
    labels: list[Label] = Field(
        default_factory=list,
        max_length=20,
        description="optional: the decision's labels are recorded",
    )
    purpose: Purpose
    disclosed_at: dt.datetime
    obligations_met: list[Obligation] = Field(
        default_factory=list,
        max_length=2,
        description="the discloser's obligations of the decision, done",
    )

    @field_validator("disclosed_at")
    @classmethod
    def _utc_if_naive(cls, value: dt.datetime) -> dt.datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)

    def terms(self) -> dict[str, Any]:
        data = self.model_dump(mode="python")
        data["recipient"] = {k: v for k, v in data["recipient"].items() if v is not None}
        return dict(data)


class DisclosureIn(Disclosed):
    """A disclosure made now, resting on the caller's PERMIT decision that matches it."""

    decision_id: str = Id


class DecisionBasis(Body):
    kind: Literal["decision"]
    decision_id: str = Id


class PaperConsentBasis(Body):
    """A consent signed on paper (or in the previous system), recorded as such."""

    kind: Literal["paper-consent"]
    signed_on: dt.date
    reference: str = Field(min_length=1, max_length=200, description="where the paper is filed")


class ExceptionBasis(Body):
    """A disclosure the law required or allowed without consent (164.512)."""

    kind: Literal["legal-exception"]
    exception: CarveOut
    reference: str = Field(min_length=1, max_length=200, description="order, report or case")


class LateDisclosureIn(Disclosed):
    """A disclosure made earlier, outside the system or in the previous one, recorded now."""

    disclosed_by: str = Id
    source: Literal["outside-system", "import"] = "outside-system"
    basis: DecisionBasis | PaperConsentBasis | ExceptionBasis = Field(discriminator="kind")


def _depth(provisions: list[ProvisionIn]) -> int:
    return max((1 + _depth(p.provisions) for p in provisions), default=0)


def _recipient(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None or k == "id"}


def _provision(data: dict[str, Any]) -> dict[str, Any]:
    return {
        **data,
        "recipients": [_recipient(r) for r in data["recipients"]],
        "provisions": [_provision(p) for p in data["provisions"]],
    }
