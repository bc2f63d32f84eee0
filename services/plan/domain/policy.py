"""Who sees what of a plan: one pure function per data class (docs/access-policy.md).

`reader_of` places a caller against one plan (care-team role, break-glass, client, staff role);
each data-class function then answers full, redacted or denied for one owner of the data. The
consent service's answers come in as `permitted`: the other partners whose individual material
a PERMIT decision lets this reader see. `X-Acting-For` only narrows: a staff member acting for
one client sees no more than that client would, and no more than the staff member may.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from services.common.viewer import Access, Viewer
from services.plan.domain.care_team import served_clients, team_entry
from services.plan.domain.checks import LEAD_ROLE

FULL, REDACTED, DENIED = Access.FULL, Access.REDACTED, Access.DENIED
_ORDER = {DENIED: 0, REDACTED: 1, FULL: 2}


class Kind(StrEnum):
    """The caller kinds of the policy table (its columns)."""

    LEAD = "lead"  # couples or family therapist of the unit; one person's own therapist
    INDIVIDUAL = "individual-therapist"  # sees some partners alone
    OUTSIDE = "outside-clinician"  # a clinician of the practice, not on this plan's team
    BREAK_GLASS = "break-glass"  # an outside clinician with an emergency access in force
    COORDINATOR = "coordinator"  # a coordinator, or a team member who only coordinates
    COMPLIANCE = "compliance"
    INTEGRATION = "integration"  # the EHR
    CLIENT = "client"  # a partner or family member, with their own token


@dataclass(frozen=True)
class Reader:
    """A caller placed against one plan: the kind, whose material is its own, and permits."""

    kind: Kind
    own: frozenset[str] = frozenset()  # clients whose individual material is this reader's
    permitted: frozenset[str] = frozenset()  # others' material a consent decision lets through
    narrowed_to: str | None = None  # X-Acting-For of a staff caller: a client of the unit

    def with_permits(self, clients: Iterable[str]) -> Reader:
        return replace(self, permitted=frozenset(clients))


def _min(*answers: Access) -> Access:
    return min(answers, key=_ORDER.__getitem__)


def _staff_kind(viewer: Viewer, plan: Any, now: dt.datetime) -> tuple[Kind, frozenset[str]]:
    members = frozenset(plan.member_ids)
    if viewer.has("compliance"):
        return Kind.COMPLIANCE, members
    entry = team_entry(plan, viewer.sub) if viewer.has("clinician") else None
    if entry is not None:
        if {LEAD_ROLE[plan.unit_kind], "couples-therapist", "family-therapist"} & set(
            entry["roles"]
        ):
            return Kind.LEAD, members
        if "individual-therapist" in entry["roles"]:
            return Kind.INDIVIDUAL, frozenset(served_clients(plan, entry))
    if viewer.has("clinician") and break_glass_in_force(plan, viewer.sub, now):
        return Kind.BREAK_GLASS, members
    if viewer.has("integration"):
        return Kind.INTEGRATION, members
    if viewer.has("coordinator") or entry is not None:  # a team member who only coordinates
        return Kind.COORDINATOR, frozenset()
    return Kind.OUTSIDE, frozenset()


def reader_of(viewer: Viewer, plan: Any, now: dt.datetime) -> Reader:
    """Where this caller stands with this plan (before any consent decision)."""
    if viewer.is_client:
        own = frozenset({str(viewer.patient)}) & frozenset(plan.member_ids)
        return Reader(Kind.CLIENT, own) if own else Reader(Kind.OUTSIDE)
    kind, own = _staff_kind(viewer, plan, now)
    narrowed = viewer.acting_for if viewer.acting_for else None
    return Reader(kind, own, narrowed_to=narrowed)


def break_glass_in_force(plan: Any, clinician_id: str, now: dt.datetime) -> bool:
    return any(
        g["clinician_id"] == clinician_id and g["until"] > now
        for g in getattr(plan, "access_grants", [])
    )


def needs_consent(reader: Reader, plan: Any) -> list[str]:
    """The other partners whose individual material this reader sees only with a PERMIT."""
    if reader.kind not in (Kind.INDIVIDUAL, Kind.CLIENT) and reader.narrowed_to is None:
        return []
    own = reader.own if reader.narrowed_to is None else {reader.narrowed_to}
    return [m for m in plan.member_ids if m not in own]


def _as_client(reader: Reader) -> Reader | None:
    """The client view a narrowing header asks for (None when there is no narrowing)."""
    if reader.narrowed_to is None or reader.kind is Kind.CLIENT:
        return None
    return Reader(Kind.CLIENT, frozenset({reader.narrowed_to}), reader.permitted)


def _narrowed(reader: Reader, answer: Any, *args: Any) -> Access:
    client = _as_client(reader)
    mine: Access = answer(reader, *args)
    return mine if client is None else _min(mine, answer(client, *args))


# ---- one function per data class (rows of the table) -------------------------------------


def plan_frame(reader: Reader) -> Access:
    """The plan frame and goals: unit, members, care team, mix, schedule, goals, reviews."""
    return _narrowed(reader, _frame)


def _frame(reader: Reader) -> Access:
    if reader.kind is Kind.OUTSIDE:
        return DENIED
    return REDACTED if reader.kind is Kind.COORDINATOR else FULL


def individual_content(reader: Reader, owner: str | None) -> Access:
    """One partner's individual-session content (focus issues, homework, check-ins)."""
    return _narrowed(reader, _individual, owner)


def _individual(reader: Reader, owner: str | None) -> Access:
    if reader.kind is Kind.OUTSIDE:
        return DENIED
    if reader.kind in (Kind.COORDINATOR, Kind.INTEGRATION):
        return REDACTED
    return _own_or_permitted(reader, owner, otherwise=REDACTED)


def measurements(reader: Reader, owner: str | None) -> Access:
    """One partner's measurements (scores, items, interpretation) and the alerts they raised.

    Screens and their alerts are safety material: what one partner's screen found is never
    revealed to the other partner, whatever a consent decision says (DOMAIN: safety first).
    Their clinicians still see them with a PERMIT.
    """
    return _narrowed(reader, _measurements, owner)


def _measurements(reader: Reader, owner: str | None) -> Access:
    if reader.kind in (Kind.OUTSIDE, Kind.COORDINATOR):
        return DENIED
    if reader.kind is Kind.INTEGRATION:
        return FULL
    if reader.kind is Kind.CLIENT:
        return FULL if owner is None or owner in reader.own else DENIED
    return _own_or_permitted(reader, owner, otherwise=DENIED)


def shift_reason(reader: Reader, about: str | None) -> Access:
    """A format shift's coded reason (and its labels), about one partner or the unit."""
    return _narrowed(reader, _shift_reason, about)


def _shift_reason(reader: Reader, about: str | None) -> Access:
    if reader.kind in (Kind.OUTSIDE, Kind.COORDINATOR):
        return DENIED
    if reader.kind is Kind.INTEGRATION:
        return FULL
    if reader.kind is Kind.CLIENT:  # never shown to the other partner, nor about the unit
        return FULL if about is not None and about in reader.own else DENIED
    return _own_or_permitted(reader, about, otherwise=DENIED)


def shift_rationale(reader: Reader, about: str | None) -> Access:
    """A format shift's free-text rationale: clinicians of that partner and compliance only."""
    return _narrowed(reader, _shift_rationale, about)


def _shift_rationale(reader: Reader, about: str | None) -> Access:
    if reader.kind in (Kind.OUTSIDE, Kind.COORDINATOR, Kind.INTEGRATION, Kind.CLIENT):
        return DENIED
    return _own_or_permitted(reader, about, otherwise=DENIED)


def break_glass_justification(reader: Reader) -> Access:
    """Why a clinician opened emergency access (free text): compliance reviews it, no one else
    reads it (as the consent service shows a break-glass decision's justification)."""
    return FULL if reader.kind is Kind.COMPLIANCE and reader.narrowed_to is None else DENIED


def _own_or_permitted(reader: Reader, owner: str | None, *, otherwise: Access) -> Access:
    if reader.kind in (Kind.LEAD, Kind.COMPLIANCE, Kind.BREAK_GLASS):
        return FULL
    if owner is None:  # joint material: the whole unit's
        return FULL
    return FULL if owner in reader.own or owner in reader.permitted else otherwise


def may_read_plan(reader: Reader) -> bool:
    """Denied plan frame: the record itself is refused (403 one record; left out of lists)."""
    return plan_frame(reader) is not DENIED
