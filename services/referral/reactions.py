"""What the referral service does when another service's event arrives.

A plan's creation, care-team changes and break-glass grants keep the referral service's copy of
its care team (plan_teams.py), which the referral read policy reads. A plan format shift for
active substance use or withdrawal risk opens one draft referral suggestion (detox, or an
outpatient substance-use assessment) for the coordinator. The suggestion's id is derived from
the record's `ce_id`, so a record delivered again finds its suggestion and creates nothing (the
consumer's tracking prevents it too).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from contracts.records import InboundRecord
from services.referral.application import ReferralApplication
from services.referral.domain import Referral
from services.referral.domain.commands import DraftReferral
from services.referral.plan_teams import TEAM_EVENTS, note_team

topics: Sequence[str] = ("careledger.plan",)
events = frozenset({"FormatShifted", *TEAM_EVENTS})

SUGGESTION_NAMESPACE = uuid.UUID("5b0f3c8e-2d7a-4f7e-9a51-6f1c2b9d8e40")
# Format-shift reason -> (referral type, reason recorded on the suggestion). Both spellings of
# the substance-use code are accepted; the plan service uses `substance-use`.
SUGGESTIONS: dict[str, tuple[str, str]] = {
    "withdrawal-risk": ("detox", "Withdrawal risk noted at a plan format shift: assess for detox"),
    "substance-use": (
        "outpatient-sud",
        "Active substance use noted at a plan format shift: outpatient substance-use assessment",
    ),
    "active-substance-use": (
        "outpatient-sud",
        "Active substance use noted at a plan format shift: outpatient substance-use assessment",
    ),
}


def suggestion_id(ce_id: str) -> uuid.UUID:
    """The id of the suggestion a record opens: the same record, the same id."""
    return uuid.uuid5(SUGGESTION_NAMESPACE, ce_id)


def react(app: ReferralApplication, record: InboundRecord) -> list[Any]:
    """The unsaved draft suggestion for a substance-related format shift, the changed care
    team for a team record, else nothing."""
    if record.event_name in TEAM_EVENTS:
        plan_id = record.body.get("plan_id") or record.body.get("id") or record.subject
        return note_team(app.plan_team(uuid.UUID(str(plan_id))), record)
    if record.event_name != "FormatShifted":
        return []
    suggestion = SUGGESTIONS.get(str(record.body.get("reason", "")))
    if suggestion is None:
        return []
    rid = suggestion_id(record.ce_id)
    if app.exists(rid):
        return []
    referral_type, reason = suggestion
    plan_id = uuid.UUID(str(record.body.get("plan_id") or record.body.get("id") or record.subject))
    client = record.body.get("about_partner_id") or record.body.get("client_id")
    return [
        Referral.draft(
            id=rid,
            tenant=record.tenant,
            command=DraftReferral(
                plan_id=plan_id,
                client_id=str(client) if client else None,
                referral_type=referral_type,
                priority="urgent" if referral_type == "detox" else "routine",
                reason=reason,
                coordinator_id=None,
                origin="plan-suggestion",
                source_id=record.ce_id,
            ),
        )
    ]
