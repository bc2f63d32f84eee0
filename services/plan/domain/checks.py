"""Input checks shared by the plan's commands: each failure names the field and the fix."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.common.errors import RuleBroken
from services.plan.domain.formats import CLINICIAN_ROLES, SEXES, UNIT_KINDS

MEMBER_COUNTS = {"couple": (2, 2), "family": (2, 12), "individual": (1, 1)}
LEAD_ROLE = {
    "couple": "couples-therapist",
    "family": "family-therapist",
    "individual": "individual-therapist",
}


def text(value: str | None, field_name: str, *, limit: int = 2000) -> str:
    """A non-empty, stripped text of at most `limit` characters."""
    cleaned = (value or "").strip()
    if not cleaned:
        raise RuleBroken(f"{field_name} is empty", {field_name: "give a non-empty text"})
    if len(cleaned) > limit:
        raise RuleBroken(f"{field_name} is too long", {field_name: f"at most {limit} characters"})
    return cleaned


def texts(values: Iterable[str], field_name: str, *, most: int, least: int = 0) -> list[str]:
    cleaned = [text(v, f"{field_name}[{i}]", limit=500) for i, v in enumerate(values)]
    if not least <= len(cleaned) <= most:
        raise RuleBroken(
            f"{field_name} has {len(cleaned)} entries",
            {field_name: f"give {least} to {most} entries"},
        )
    return cleaned


def members(unit_kind: str, given: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The client unit's members: EHR client ids (unique) and sex (for AUDIT-C cut-offs)."""
    if unit_kind not in UNIT_KINDS:
        raise RuleBroken("unknown unit kind", {"unit_kind": f"use one of {', '.join(UNIT_KINDS)}"})
    least, most = MEMBER_COUNTS[unit_kind]
    if not least <= len(given) <= most:
        want = str(least) if least == most else f"{least} to {most}"
        raise RuleBroken(
            f"a {unit_kind} plan has {want} members", {"members": f"give {want} client ids"}
        )
    result = []
    for i, member in enumerate(given):
        client_id = text(member.get("client_id"), f"members[{i}].client_id", limit=100)
        sex = member.get("sex") or "unknown"
        if sex not in SEXES:
            raise RuleBroken("unknown sex", {f"members[{i}].sex": f"use one of {', '.join(SEXES)}"})
        result.append({"client_id": client_id, "sex": sex})
    if len({m["client_id"] for m in result}) != len(result):
        raise RuleBroken("duplicate member", {"members": "each client id may appear once"})
    return result


def clinicians(unit_kind: str, given: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Clinicians and their roles; one clinician may hold several roles."""
    if not given:
        raise RuleBroken("no clinician", {"clinicians": "name at least one clinician"})
    result = []
    for i, entry in enumerate(given):
        clinician_id = text(entry.get("clinician_id"), f"clinicians[{i}].clinician_id", limit=100)
        roles = list(dict.fromkeys(entry.get("roles") or ()))
        bad = [r for r in roles if r not in CLINICIAN_ROLES]
        if not roles or bad:
            raise RuleBroken(
                "unknown clinician role",
                {f"clinicians[{i}].roles": f"give roles from {', '.join(CLINICIAN_ROLES)}"},
            )
        result.append({"clinician_id": clinician_id, "roles": roles})
    lead = LEAD_ROLE[unit_kind]
    if not any(lead in c["roles"] for c in result):
        raise RuleBroken(f"no {lead}", {"clinicians": f"a {unit_kind} plan needs a {lead}"})
    return result


def number(value: Any, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleBroken(f"{field_name} is not a number", {field_name: "give a finite number"})
    return float(value)


def later(first: dt.date, then: dt.date, field_name: str, what: str) -> None:
    if then <= first:
        raise RuleBroken(f"{field_name} is too early", {field_name: f"must be after {what}"})


def weeks(value: int, field_name: str, most: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise RuleBroken(f"{field_name} out of range", {field_name: f"give 1 to {most} weeks"})
