"""Every read of consent content leaves an access event, committed before the answer leaves.

What each caller may read here is decided by the routes' roles (docs/access-policy.md, "Consent
and disclosures"); this module records what a read touched: the records (id and version) and
the persons they concern (a consent's or decision's person, an agreement's partners).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Request

from services.common.http.access import record_read
from services.common.viewer import Touched

AGREEMENT, CONSENT = "SharingAgreement", "Consent"
DECISION, DISCLOSURE = "ConsentDecision", "Disclosure"
_IDS = {
    AGREEMENT: "agreement_id",
    CONSENT: "consent_id",
    DECISION: "decision_id",
    DISCLOSURE: "disclosure_id",
}


def persons(view: Mapping[str, Any]) -> list[str]:
    """The persons one view concerns."""
    found = [view.get("person_id"), *(view.get("partner_ids") or ())]
    return [str(p) for p in found if p]


def logged(
    request: Request,
    resource_type: str,
    views: Iterable[Mapping[str, Any]],
    *,
    clients: Iterable[str] = (),
) -> None:
    """Record the read of these views (all of them are shown in full to this caller)."""
    shown = list(views)
    key = _IDS[resource_type]
    records = [(str(v[key]), v.get("version")) for v in shown if v.get(key)]
    concerned = {*clients, *(p for v in shown for p in persons(v))}
    record_read(request, Touched(resource_type, records, concerned, view="full"))
