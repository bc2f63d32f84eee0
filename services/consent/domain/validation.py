"""What a consent directive must contain: coded fields, and the 42 CFR 2.31 elements of Part 2."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.categories import CATEGORIES
from services.common.ids import canonical_id, printable_id
from services.consent.domain.terms import (
    LABELS,
    PURPOSES,
    RECIPIENT_KINDS,
    SCOPES,
    SUD_COUNSELING_NOTES,
    TPO_PURPOSES,
    Recipient,
    check_values,
    named_only_errors,
    provision_errors,
)

RECIPIENT_ID_RULE = (
    "name the recipient by its id (any printable text; case, spacing and Unicode form do not "
    "matter, so 'Dr-Evil' and ' dr-evil' are one recipient)"
)


def recipient_errors(recipient: Recipient, where: str, *, named: bool) -> dict[str, str]:
    """Why a recipient is unknown or ambiguous; `named`: a general designation is not enough."""
    errors = check_values(f"{where}.kind", [recipient.kind], RECIPIENT_KINDS)
    if recipient.id is None:
        if named:
            errors[f"{where}.id"] = RECIPIENT_ID_RULE
    elif not printable_id(recipient.id):
        errors[f"{where}.id"] = RECIPIENT_ID_RULE
    elif recipient.designation is not None:
        errors[f"{where}.designation"] = (
            "ambiguous: give an id (one named recipient) or a designation (a general "
            "designation, id null), not both"
        )
    return errors


def _canonical_recipient(data: Mapping[str, Any]) -> dict[str, Any]:
    ident = data.get("id")
    return {**data, "id": canonical_id(ident) if isinstance(ident, str) else ident}


def _canonical_provision(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **data,
        "recipients": [_canonical_recipient(r) for r in data.get("recipients") or ()],
        "provisions": [_canonical_provision(p) for p in data.get("provisions") or ()],
    }


def canonical_terms(terms: Mapping[str, Any]) -> dict[str, Any]:
    """The consent's terms with every recipient id (root and nested) in canonical form."""
    return {
        **terms,
        "recipients": [_canonical_recipient(r) for r in terms.get("recipients") or ()],
        "provisions": [_canonical_provision(p) for p in terms.get("provisions") or ()],
    }


def part2_missing(terms: Mapping[str, Any]) -> dict[str, str]:
    """Every required element of a Part 2 written consent (42 CFR 2.31) that is missing."""
    missing: dict[str, str] = {}
    signature = terms.get("signature") or {}
    recipients = terms.get("recipients") or []
    checks = {
        "person_id": (terms.get("person_id"), "name the patient"),
        "disclosers": (terms.get("disclosers"), "name who may disclose (program or clinicians)"),
        "description": (terms.get("description"), "describe the information specifically"),
        "recipients": (recipients, "name the recipients (or a general designation for TPO)"),
        "purposes": (terms.get("purposes"), "state the purpose of the disclosure"),
        "revocation_right_acknowledged": (
            terms.get("revocation_right_acknowledged"),
            "must be true: the patient was told of the right to revoke in writing",
        ),
        "expiry": (
            terms.get("end") or terms.get("expiry_event"),
            "give an expiry date (end) or an expiry event",
        ),
        "signature.signed_by": (
            signature.get("signed_by"),
            "the patient (or representative) signs",
        ),
        "signature.signed_on": (signature.get("signed_on"), "give the date of signature"),
    }
    for name, (value, how) in checks.items():
        if not value:
            missing[name] = f"required for a 42 CFR Part 2 consent: {how}"
    general = [r for r in recipients if not r.get("id")]
    if general and not set(terms.get("purposes") or ()) <= TPO_PURPOSES:
        missing["recipients"] = (
            "a general designation is allowed only in a consent for treatment, payment or "
            "health care operations (TREAT, HPAYMT, HOPERAT): name each recipient by id"
        )
    categories = set(terms.get("categories") or ())
    if SUD_COUNSELING_NOTES in categories and len(categories) > 1:
        missing["categories"] = (
            "substance-use counseling notes need their own consent: list only sud-counseling-notes"
        )
    return missing


def terms_errors(terms: Mapping[str, Any]) -> dict[str, str]:
    """Coding errors of the consent's fields (unknown codes, empty lists, bad period)."""
    errors: dict[str, str] = {}
    errors.update(check_values("scope", [terms["scope"]], SCOPES))
    errors.update(check_values("purposes", terms["purposes"], PURPOSES))
    errors.update(check_values("categories", terms["categories"], CATEGORIES))
    errors.update(check_values("labels", terms["labels"], LABELS))
    kinds = [str(r.get("kind")) for r in terms["recipients"]]
    errors.update(check_values("recipients.kind", kinds, RECIPIENT_KINDS))
    for index, recipient in enumerate(terms["recipients"]):
        where = f"recipients[{index}]"
        found = recipient_errors(Recipient.from_dict(recipient), where, named=False)
        errors.update({k: v for k, v in found.items() if k != f"{where}.kind"})
    if terms["provision_type"] not in ("permit", "deny"):
        errors["provision_type"] = "must be 'permit' or 'deny'"
    elif terms["provision_type"] == "permit":
        errors.update(named_only_errors(terms["recipients"], "recipients"))
    for name in ("recipients", "purposes", "categories"):
        if not terms[name] and name not in errors:
            errors[name] = "give at least one"
    start, end = terms.get("start"), terms.get("end")
    if start and end and end < start:
        errors["end"] = "must be on or after start"
    errors.update(provision_errors(terms["provisions"], "provisions"))
    return errors
