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
from dataclasses import dataclass
from enum import StrEnum

from services.common.viewer import Access, Viewer
from services.referral.domain.plan_team import TeamRules

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
    viewer: Viewer, team: TeamRules | None, client_id: str | None, now: dt.datetime
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


@dataclass(frozen=True)
class Reach:
    """Whose referrals in one plan a caller may read: every client's, or only `clients`'."""

    every: bool
    clients: frozenset[str] = frozenset()

    def covers(self, client_id: str | None) -> bool:
        return self.every or client_id in self.clients


def reach(viewer: Viewer, team: TeamRules | None, now: dt.datetime) -> Reach:
    """Where `reader_of` lets this caller read in the plan of `team`, for any client at once.

    `reader_of` depends on the client only through the clients the caller's own team entry
    names (`TeamRules.serves`), so a client it does not name (None) stands for every other
    client, and each named one is asked on its own. With no team (or one the caller is not
    on and holds no grant of), the answer is the same for every plan: `reach(viewer, None, now)`.
    """
    if may_read(reader_of(viewer, team, None, now)):
        return Reach(every=True)
    entry = team.entry(viewer.sub) if team is not None else None
    named = (entry.get("clients") or ()) if entry is not None else ()
    return Reach(False, frozenset(c for c in named if may_read(reader_of(viewer, team, c, now))))
