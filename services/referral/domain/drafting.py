"""The rules of a referral before it leaves: the draft, its revisions, sending it.

Each rule checks a command against the referral's state and returns the fields of the event to
record; it changes nothing itself (the aggregate applies the event).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from services.common.errors import RuleBroken
from services.referral.domain.commands import DraftReferral, ReviseReferral, SendReferral
from services.referral.domain.lifecycle import Step, next_state
from services.referral.domain.service_levels import ServiceLevels
from services.referral.domain.state import ReferralState
from services.referral.domain.vocabulary import (
    ORIGINS,
    check_client,
    check_coded,
    check_details,
    discloses,
)


def _party(party: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if party is None else dict(party)


Parties = tuple[dict[str, Any] | None, dict[str, Any] | None]


def _checked(command: DraftReferral | ReviseReferral) -> Parties:
    """The coded details checked; the organisation and contact as plain dicts."""
    organization, contact = _party(command.organization), _party(command.contact)
    check_details(command.referral_type, command.priority, organization, contact)
    return organization, contact


def _details(command: DraftReferral | ReviseReferral, parties: Parties) -> dict[str, Any]:
    """The details both a draft and a revision carry, with what they disclose."""
    categories, labels = discloses(command.referral_type, command.categories)
    return {
        "client_id": command.client_id,
        "referral_type": command.referral_type,
        "priority": command.priority,
        "reason": command.reason,
        "coordinator_id": command.coordinator_id,
        "organization": parties[0],
        "contact": parties[1],
        "categories": categories,
        "security_labels": labels,
        "note": command.note,
    }


def drafted(command: DraftReferral) -> dict[str, Any]:
    """A new draft (not yet sent); a plan suggestion may lack the client."""
    parties = _checked(command)
    check_coded("origin", command.origin, ORIGINS)
    if command.origin != "plan-suggestion":
        check_client(command.client_id)
    return {
        **_details(command, parties),
        "plan_id": command.plan_id,
        "origin": command.origin,
        "source_id": command.source_id,
    }


def revised(referral: ReferralState, command: ReviseReferral) -> dict[str, Any]:
    """Replace the details of a draft (a suggestion gets its client and organisation here)."""
    next_state(referral.state, Step.REVISE)
    check_client(command.client_id)
    return _details(command, _checked(command))


def check_sendable(referral: ReferralState) -> None:
    """Raise before asking for consent when the referral could not be sent anyway."""
    next_state(referral.state, Step.SEND)
    check_client(referral.client_id)
    if referral.organization is None:
        raise RuleBroken(
            "the referral has no receiving organisation",
            errors={"organization": "revise the draft with the receiving organisation first"},
        )


def send_blocked(
    referral: ReferralState,
    *,
    decision_id: str,
    outcome: str,
    missing: str,
    obligations: list[dict[str, Any]],
    at: dt.datetime,
) -> dict[str, Any]:
    """The consent decision did not permit sending (the referral stays a draft)."""
    check_sendable(referral)
    return {
        "decision_id": decision_id,
        "outcome": outcome,
        "missing": missing,
        "obligations": obligations,
        "at": at,
        "security_labels": referral.security_labels,
    }


def sent(
    referral: ReferralState,
    command: SendReferral,
    *,
    decision_id: str,
    obligations: list[dict[str, Any]],
    levels: ServiceLevels,
    at: dt.datetime,
) -> dict[str, Any]:
    """Sent on a PERMIT decision, with the due dates of its service levels."""
    check_sendable(referral)
    assert referral.client_id is not None  # checked above
    kind, priority = referral.referral_type, referral.priority
    return {
        "plan_id": referral.plan_id,
        "client_id": referral.client_id,
        "organization": referral.organization,
        "referral_type": kind,
        "priority": priority,
        "decision_id": decision_id,
        "obligations": obligations,
        "at": at,
        "acknowledge_by": levels.acknowledge_by(kind, priority, at),
        "first_appointment_by": levels.first_appointment_by(kind, priority, at),
        "security_labels": referral.security_labels,
        "note": command.note,
    }
