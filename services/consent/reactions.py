"""What the consent service does when another service's event arrives.

Sending a referral is a disclosure: each `ReferralSent` on `careledger.referral` becomes one
`DisclosureRecorded` (filed under the client, so it is in their accounting) with the receiving
organisation, the decision it rested on and its labels. The disclosure's id is derived from the
record's `ce_id`, so a record delivered again finds it and records nothing (the consumer's
tracking, committed with it, prevents that too). The organisation's name and address come from
the decision the send rested on (the referral service names them when it asks), falling back
to what the record carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.records import InboundRecord
from services.consent.application import ConsentApplication

topics: Sequence[str] = ("careledger.referral",)
events = frozenset({"ReferralSent"})


def source_ref(ce_id: str) -> str:
    """What a disclosure recorded from a referral record names as its source."""
    return f"careledger.referral/{ce_id}"


def react(app: ConsentApplication, record: InboundRecord) -> list[Any]:
    """The unsaved disclosure and person file for a referral sent, else nothing."""
    if record.event_name != "ReferralSent":
        return []
    actor = record.headers.get("ce_actor") or "referral-service"
    return app.referral_sent(
        tenant=record.tenant, body=record.body, actor=actor, source_ref=source_ref(record.ce_id)
    )
