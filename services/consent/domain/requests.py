"""Checking a decision request before the engine sees it: every broken field at once."""

from __future__ import annotations

from contracts.categories import CATEGORIES
from services.common.errors import Forbidden
from services.common.ids import canonical_id
from services.consent.domain.exceptions import (
    EMERGENCY_ROLE,
    break_glass_problems,
    carve_out_problems,
)
from services.consent.domain.terms import (
    LABELS,
    PURPOSES,
    DecisionRequest,
    check_values,
    require,
)
from services.consent.domain.validation import recipient_errors


def check_request(request: DecisionRequest, *, about_partner_of: str | None = None) -> None:
    """Raise 403 for an exception path the caller may not take, else one 422 naming every field."""
    if (request.break_glass or request.carve_out) and request.actor_role != EMERGENCY_ROLE:
        raise Forbidden(
            "only a clinician may break the glass or invoke a carve-out; "
            f"this token acts as {request.actor_role}"
        )
    errors: dict[str, str] = {}
    if not request.person_id.strip():
        errors["person_id"] = "give the id of the person whose information it is"
    errors.update(recipient_errors(request.recipient, "recipient", named=True))
    errors.update(check_values("purpose", [request.purpose], PURPOSES))
    if not request.categories:
        errors["categories"] = f"give at least one of {', '.join(CATEGORIES)}"
    errors.update(check_values("categories", request.categories, CATEGORIES))
    errors.update(check_values("labels", request.labels, LABELS))
    if about_partner_of is not None and (
        request.recipient.kind != "partner"
        or canonical_id(about_partner_of) != canonical_id(request.recipient.id or "")
    ):
        errors["context.about_partner_of"] = (
            "the agreement that applies is the one between the person and the partner who "
            "receives it: drop about_partner_of (or give the recipient's own id)"
        )
    ident = request.recipient.id
    if request.recipient.kind == "partner" and canonical_id(ident or "") == canonical_id(
        request.person_id
    ):
        errors["recipient.id"] = "the partner recipient is the person themselves"
    errors.update(break_glass_problems(request))
    errors.update(carve_out_problems(request))
    require(errors, "the decision request cannot be decided: " + ", ".join(sorted(errors)))
