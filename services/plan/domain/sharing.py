"""What the couple's information-sharing agreement asks of an individual session (pure).

An individual session inside couples work rests on the agreement in force for both partners
(the consent service holds it; `services.plan.agreements` asks it). The session stores the
agreement's id and terms version. Under limited-secrets, material a partner gives in confidence
can be held until a share-by date; a held confidence is on the clinician's worklist from a
week before that date until it is resolved (shared, or no longer held).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.common.errors import Conflict, RuleBroken
from services.common.ids import canonical_id

LIMITED_SECRETS = "limited-secrets"
MAX_HOLD = dt.timedelta(days=365)
RESOLUTIONS = ("shared", "no-longer-held")


@dataclass(frozen=True)
class AgreementInForce:
    """The terms both partners signed: what a session under them records."""

    agreement_id: str
    terms_version: int
    mode: str
    partner_ids: tuple[str, ...]


def missing(
    partner_ids: Sequence[str], agreement_id: str | None = None, unsigned: Sequence[str] = ()
) -> Conflict:
    """The 409 for an individual session without an agreement in force for both partners."""
    couple = " and ".join(sorted(partner_ids))
    if agreement_id is None:
        detail = (
            f"no information-sharing agreement between {couple}: draft one in the consent "
            "service (POST /agreements) and have both partners sign it"
        )
    else:
        waiting = ", ".join(unsigned) or "a partner"
        detail = (
            f"the information-sharing agreement {agreement_id} between {couple} is not in "
            f"force: {waiting} has not signed its terms"
        )
    return Conflict(
        detail,
        missing_agreement={
            "partner_ids": sorted(partner_ids),
            "agreement_id": agreement_id,
            "unsigned": sorted(unsigned),
        },
    )


def in_force_of(view: Mapping[str, Any], partner_ids: Sequence[str]) -> AgreementInForce:
    """The terms in force of an agreement view (consent `GET /agreements`), else the 409."""
    agreement_id = str(view.get("agreement_id") or "")
    held = [str(p) for p in view.get("partner_ids") or ()]
    if sorted(canonical_id(p) for p in held) != sorted(canonical_id(p) for p in partner_ids):
        raise missing(partner_ids)  # not this couple's agreement: as good as none
    terms = view.get("in_force")
    if not isinstance(terms, Mapping):
        signed = (view.get("pending_terms") or {}).get("signatures") or {}
        raise missing(partner_ids, agreement_id, [p for p in held if p not in signed])
    return AgreementInForce(
        agreement_id=agreement_id,
        terms_version=int(terms["terms_version"]),
        mode=str(terms["mode"]),
        partner_ids=tuple(held),
    )


def needs_agreement(unit_kind: str, format: str) -> bool:
    return unit_kind == "couple" and format == "individual"


def session_terms(
    *,
    unit_kind: str,
    format: str,
    held_on: dt.date,
    agreement: AgreementInForce | None,
    partner_ids: Sequence[str],
    sharing_agreement_id: str | None,
    share_by: dt.date | None,
) -> dict[str, Any]:
    """The agreement fields of a session, checked against the agreement in force."""
    named = (sharing_agreement_id or "").strip() or None
    if not needs_agreement(unit_kind, format):
        errors = {}
        if named:
            errors["sharing_agreement_id"] = "only an individual session in couples work has one"
        if share_by:
            errors["share_by"] = "only an individual session in couples work holds confidences"
        if errors:
            raise RuleBroken("this session is not under a sharing agreement", errors)
        return {"sharing_agreement_id": None, "sharing_agreement_version": None, "share_by": None}
    if agreement is None:
        raise missing(partner_ids)
    if named is not None and named.casefold() != agreement.agreement_id.casefold():
        raise Conflict(
            f"the agreement in force between {' and '.join(sorted(partner_ids))} is "
            f"{agreement.agreement_id}, not {named}: give its id, or leave the field out",
            agreement_in_force=agreement.agreement_id,
        )
    if share_by is not None:
        check_share_by(agreement.mode, held_on, share_by)
    return {
        "sharing_agreement_id": agreement.agreement_id,
        "sharing_agreement_version": agreement.terms_version,
        "share_by": share_by,
    }


def check_share_by(mode: str, held_on: dt.date, share_by: dt.date) -> None:
    if mode != LIMITED_SECRETS:
        raise RuleBroken(
            f"the couple's agreement is {mode}: nothing is held in confidence",
            {"share_by": "a share-by date is for material held under a limited-secrets agreement"},
        )
    if not held_on <= share_by <= held_on + MAX_HOLD:
        raise RuleBroken(
            "the share-by date is out of range",
            {"share_by": f"a date from the session's day to {MAX_HOLD.days} days after it"},
        )


def confidence_due(
    session: Mapping[str, Any], today: dt.date, within_days: int
) -> dict[str, Any] | None:
    """A held confidence whose share-by date is within `within_days` of today (or past)."""
    share_by = session.get("share_by")
    if not share_by or session.get("resolved"):
        return None
    due = dt.date.fromisoformat(share_by) if isinstance(share_by, str) else share_by
    if due > today + dt.timedelta(days=within_days):
        return None
    return {
        "session_id": session["session_id"],
        "partner_id": session.get("partner_id"),
        "clinician_id": session.get("clinician_id"),
        "held_on": session.get("held_on"),
        "share_by": due,
        "overdue": due < today,
        "days_overdue": max((today - due).days, 0),
        "sharing_agreement_id": session.get("sharing_agreement_id"),
    }
