"""Plain-data views of a referral (what commands and queries return; never the aggregate)."""

from __future__ import annotations

from typing import Any

from services.referral.domain import Referral


def referral_view(referral: Referral) -> dict[str, Any]:
    return {
        "id": str(referral.id),
        "version": referral.version,
        "plan_id": str(referral.plan_id),
        "client_id": referral.client_id,
        "referral_type": referral.referral_type,
        "priority": referral.priority,
        "reason": referral.reason,
        "organization": referral.organization,
        "contact": referral.contact,
        "coordinator_id": referral.coordinator_id,
        "origin": referral.origin,
        "source_id": referral.source_id,
        "categories": list(referral.categories),
        "security_labels": list(referral.security_labels),
        "state": referral.state.value,
        "status": referral.task_status,
        "business_status": referral.business_status,
        "allowed_steps": referral.allowed_steps,
        "consent": referral.consent,
        "due": dict(referral.due),
        "appointment_at": referral.appointment_at,
        "attended_at": referral.attended_at,
        "outcome": referral.outcome,
        "decline_reason": referral.decline_reason,
        "created_at": referral.created_on,
        "updated_at": referral.modified_on,
    }
