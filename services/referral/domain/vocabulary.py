"""Coded values of a referral and the data categories each type carries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from contracts.categories import CATEGORIES, implied_labels
from services.common.errors import RuleBroken

REFERRAL_TYPES: dict[str, str] = {
    "family-therapy": "Family therapy",
    "detox": "Withdrawal management (detox)",
    "outpatient-sud": "Outpatient substance-use care",
    "medication-support": "Medication support (MAT)",
    "psychiatry": "Psychiatry",
    "ipv-advocacy": "Intimate-partner-violence advocacy",
    "individual-therapy": "Individual therapy",
}
PRIORITIES = ("routine", "urgent", "asap", "stat")
ORIGINS = ("coordinator", "plan-suggestion", "ehr")
OUTCOMES: dict[str, str] = {
    "treatment-completed": "Treatment completed",
    "engaged-in-care": "Engaged in ongoing care",
    "referred-on": "Referred on to another service",
    "client-withdrew": "Client withdrew",
    "other": "Other (see note)",
}
SUBSTANCE_USE_TYPES = frozenset({"detox", "outpatient-sud", "medication-support"})

_SUD = (("referral", "substance-use"), ("42CFRPart2", "ETH", "R"))
# What a referral of each type discloses: (data categories, security labels).
_DISCLOSES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "detox": _SUD,
    "outpatient-sud": _SUD,
    "medication-support": _SUD,
    "ipv-advocacy": (("referral",), ("SDV", "R")),
    "psychiatry": (("referral",), ("R",)),
    "individual-therapy": (("referral",), ("R",)),
    "family-therapy": (("referral",), ("R",)),
}


def discloses(referral_type: str, extra: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """The data categories and security labels a referral of this type carries.

    The categories are the consent service's (contracts/categories.py); the labels are the
    type's and those its categories imply, so an added category labels the referral too.
    """
    extra = list(extra)
    unknown = sorted(set(extra) - set(CATEGORIES))
    if unknown:
        raise RuleBroken(
            f"unknown data categories: {', '.join(unknown)}",
            errors={"categories": f"use any of: {', '.join(CATEGORIES)}"},
        )
    categories, labels = _DISCLOSES[referral_type]
    carried = {*categories, *extra}
    return sorted(carried), sorted({*labels, *implied_labels(carried)})


def check_coded(field: str, value: str, allowed: Iterable[str]) -> None:
    options = list(allowed)
    if value not in options:
        raise RuleBroken(
            f"{field} '{value}' is not known",
            errors={field: f"use one of: {', '.join(options)}"},
        )


ORGANIZATION_KEYS = ("id", "name", "phone", "email", "address")
CONTACT_KEYS = ("name", "role", "phone", "email")


def check_party(
    field: str, party: dict[str, Any] | None, *, keys: tuple[str, ...], required: tuple[str, ...]
) -> None:
    """An organisation or contact: a dict of strings with the required keys present."""
    if party is None:
        return
    unknown = sorted(set(party) - set(keys))
    if unknown:
        raise RuleBroken(
            f"{field} has unknown fields",
            errors={f"{field}.{key}": f"not a field; use: {', '.join(keys)}" for key in unknown},
        )
    wrong = sorted(k for k, v in party.items() if v is not None and not isinstance(v, str))
    if wrong:
        raise RuleBroken(
            f"{field} has non-text fields",
            errors={f"{field}.{key}": "give a string" for key in wrong},
        )
    missing = [key for key in required if not str(party.get(key) or "").strip()]
    if missing:
        raise RuleBroken(
            f"{field} is incomplete",
            errors={f"{field}.{key}": "required, give a non-empty value" for key in missing},
        )


def check_details(
    referral_type: str,
    priority: str,
    organization: dict[str, Any] | None,
    contact: dict[str, Any] | None,
) -> None:
    check_coded("referral_type", referral_type, REFERRAL_TYPES)
    check_coded("priority", priority, PRIORITIES)
    check_party("organization", organization, keys=ORGANIZATION_KEYS, required=("id", "name"))
    check_party("contact", contact, keys=CONTACT_KEYS, required=("name",))


def check_aware(field: str, value: dt.datetime | None) -> None:
    if value is None or value.tzinfo is None:
        raise RuleBroken(
            f"{field} is missing or has no time zone",
            errors={field: "give an ISO 8601 time with an offset, e.g. 2026-03-02T10:00:00Z"},
        )


def check_client(client_id: str | None) -> None:
    if not (client_id or "").strip():
        raise RuleBroken(
            "the referral names no client", errors={"client_id": "give the client's id"}
        )
