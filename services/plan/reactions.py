"""What the plan service does when a referral event arrives: note it on the plan it serves.

A referral sent, accepted or completed (with its outcome) is noted on the plan named by the
body's `plan_id`, once per record: the plan keeps the `ce_id`s it has noted, so a record
delivered again changes nothing (the consumer's tracking prevents it too). Records for other
events, without a plan, or for a plan this practice does not have are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from contracts.records import InboundRecord
from services.common.errors import NotFound
from services.plan.application import PlanApplication
from services.plan.domain import Plan
from services.plan.domain.commands import NoteReferral

topics: Sequence[str] = ("careledger.referral",)

STAGES = {"ReferralSent": "sent", "ReferralAccepted": "accepted", "ReferralCompleted": "completed"}
events = frozenset(STAGES)


def react(app: PlanApplication, record: InboundRecord) -> list[Any]:
    """The plan with the referral noted (unsaved), or [] for a record that changes nothing."""
    stage = STAGES.get(record.event_name)
    if stage is None:
        return []
    try:
        plan_id = UUID(str(record.body.get("plan_id")))
    except ValueError:
        return []
    try:
        plan: Plan = app.load(Plan, plan_id, record.tenant)
    except NotFound:
        return []
    outcome = record.body.get("outcome")
    noted = plan.note_referral(
        NoteReferral(
            record_id=record.ce_id,
            referral_id=str(record.body.get("id") or record.subject),
            stage=stage,
            outcome=str(outcome) if outcome else None,
        )
    )
    return [plan] if noted else []
