"""Checking a decision request before the engine sees it: every broken field at once."""

from __future__ import annotations

from services.consent.domain.terms import (
    BREAK_GLASS_KINDS,
    CATEGORIES,
    LABELS,
    PURPOSES,
    RECIPIENT_KINDS,
    DecisionRequest,
    check_values,
    require,
)

MIN_JUSTIFICATION = 20


def check_request(request: DecisionRequest) -> None:
    """Raise one 422 naming every field of the request that cannot be decided on."""
    errors: dict[str, str] = {}
    if not request.person_id:
        errors["person_id"] = "give the id of the person whose information it is"
    errors.update(check_values("recipient.kind", [request.recipient.kind], RECIPIENT_KINDS))
    if not request.recipient.id:
        errors["recipient.id"] = "name the recipient by id"
    errors.update(check_values("purpose", [request.purpose], PURPOSES))
    if not request.categories:
        errors["categories"] = f"give at least one of {', '.join(CATEGORIES)}"
    errors.update(check_values("categories", request.categories, CATEGORIES))
    errors.update(check_values("labels", request.labels, LABELS))
    glass = request.break_glass
    if glass is not None:
        errors.update(check_values("break_glass.kind", [glass.kind], BREAK_GLASS_KINDS))
        if len(glass.justification.strip()) < MIN_JUSTIFICATION:
            errors["break_glass.justification"] = (
                f"explain the emergency or threat in at least {MIN_JUSTIFICATION} characters"
            )
    require(errors, "the decision request cannot be decided: " + ", ".join(sorted(errors)))
