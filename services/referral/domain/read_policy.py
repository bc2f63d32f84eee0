"""Who sees what of a referral: one pure function per data class (docs/access-policy.md).

A referral is one client's (`client_id`, in a plan of a unit): a detox or IPV-advocacy referral
of one partner is that partner's material, never shown to the other partner's side. The plan's
care team decides clinical access (the referral service's copy, `PlanTeam`): the unit's lead
and the client's own individual therapist read it; a clinician outside the team reads nothing
without a break-glass grant in force on the plan. Coordinators work referrals (the frame) but
never read their clinical free text; compliance and the EHR read all.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from services.common.viewer import Access, Viewer
from services.referral.domain.plan_team import PlanTeam

FULL, REDACTED, DENIED = Access.FULL, Access.REDACTED, Access.DENIED
# The clinical free text of a referral: its reason, the receiving side's decline reason, notes.
CLINICAL_TEXT = ("reason", "decline_reason", "note")


class Kind(StrEnum):
    """Where a caller stands with one referral."""

    TREATING = "treating"  # the unit's lead, or the client's own individual therapist
    OTHER_SIDE = "other-side"  # on the team, treating another partner alone; or that partner
    OUTSIDE = "outside"  # a clinician not on the plan's team (or a client of another unit)
    BREAK_GLASS = "break-glass"  # an outside clinician with a grant in force on the plan
    COORDINATOR = "coordinator"  # coordinators, admins, team members who only coordinate
    COMPLIANCE = "compliance"
    INTEGRATION = "integration"


def reader_of(
    viewer: Viewer, team: PlanTeam | None, client_id: str | None, now: dt.datetime
) -> Kind:
    """Where this caller stands with a referral for `client_id` in the plan of `team`.

    A client's own token reads no referral here (the routes refuse it): the plan shows the
    referral's stage to the unit."""
    if viewer.is_client:
        return Kind.OUTSIDE
    if viewer.has("compliance"):
        return Kind.COMPLIANCE
    if viewer.has("clinician") and team is not None:
        if team.serves(viewer.sub, client_id):
            return Kind.TREATING
        entry = team.entry(viewer.sub)
        if entry is not None and "individual-therapist" in entry["roles"]:
            return Kind.OTHER_SIDE
        if team.grant_in_force(viewer.sub, now):
            return Kind.BREAK_GLASS
    if viewer.has("integration"):
        return Kind.INTEGRATION
    if viewer.has("coordinator") or viewer.has("admin"):
        return Kind.COORDINATOR
    if viewer.has("clinician") and team is not None and team.entry(viewer.sub) is not None:
        return Kind.COORDINATOR  # on the team as a care coordinator only
    return Kind.OUTSIDE


def referral_frame(kind: Kind) -> Access:
    """Type, priority, organisation, contact, status, dates, consent decision, outcome code."""
    return DENIED if kind in (Kind.OUTSIDE, Kind.OTHER_SIDE) else FULL


def clinical_text(kind: Kind) -> Access:
    """The referral's reason, the decline reason and the notes of its steps (free text)."""
    if kind in (Kind.OUTSIDE, Kind.OTHER_SIDE, Kind.COORDINATOR):
        return DENIED
    return FULL


def may_read(kind: Kind) -> bool:
    return referral_frame(kind) is not DENIED
