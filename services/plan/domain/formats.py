"""Session formats, the intended mix, format-shift reasons and their labels (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.common.errors import RuleBroken

UNIT_KINDS = ("couple", "family", "individual")
SESSION_FORMATS = ("joint", "individual", "family", "group")
MODALITIES = ("in-person", "telehealth")
CLINICIAN_ROLES = (
    "couples-therapist",
    "individual-therapist",
    "family-therapist",
    "care-coordinator",
)
SEXES = ("male", "female", "other", "unknown")
FORMATS_BY_UNIT: dict[str, tuple[str, ...]] = {
    "couple": ("joint", "individual", "group"),
    "family": ("family", "individual", "group"),
    "individual": ("individual", "group"),
}
# Formats that bring the partners together; pausing joint work pauses these.
JOINT_FORMATS = frozenset({"joint", "family"})


@dataclass(frozen=True)
class ShiftReason:
    code: str
    display: str
    labels: tuple[str, ...]
    pauses_joint: bool


_SAFETY = ("R", "SDV")
_SUBSTANCE = ("R", "ETH")
_MENTAL = ("R", "PSY")
SHIFT_REASONS: dict[str, ShiftReason] = {
    r.code: r
    for r in (
        ShiftReason("intimate-partner-violence", "Intimate partner violence", _SAFETY, True),
        ShiftReason("coercive-control", "Coercive control", _SAFETY, True),
        ShiftReason("protective-order", "Protective order", _SAFETY, True),
        ShiftReason("substance-use", "Active substance use or intoxication", _SUBSTANCE, True),
        ShiftReason("withdrawal-risk", "Withdrawal risk (detox)", _SUBSTANCE, True),
        ShiftReason("self-harm-risk", "Suicide or self-harm risk", _MENTAL, True),
        ShiftReason("acute-symptoms", "Acute mental-health symptoms", _MENTAL, True),
        ShiftReason("high-reactivity", "High reactivity after a difficult session", _MENTAL, True),
        ShiftReason("one-partner-ready", "Only one partner ready", _MENTAL, True),
        ShiftReason("cool-down", "Cool-down after a joint session", _MENTAL, True),
        ShiftReason("ready-to-resume", "Readiness to resume joint work", _MENTAL, False),
    )
}
RESUME_REASON = "ready-to-resume"


def reason_or_raise(code: str) -> ShiftReason:
    try:
        return SHIFT_REASONS[code]
    except KeyError:
        raise RuleBroken(
            f"unknown format-shift reason '{code}'",
            {"reason": f"use one of: {', '.join(SHIFT_REASONS)}"},
        ) from None


def one_of(value: str, allowed: tuple[str, ...], field_name: str) -> str:
    if value not in allowed:
        raise RuleBroken(
            f"'{value}' is not a valid {field_name}",
            {field_name: f"use one of: {', '.join(allowed)}"},
        )
    return value


def check_mix(unit_kind: str, mix: Mapping[str, int], field_name: str = "mix") -> dict[str, int]:
    """The intended sessions per cadence period, by format; only formats the unit can have."""
    allowed = FORMATS_BY_UNIT[unit_kind]
    errors = {}
    for fmt, count in mix.items():
        if fmt not in allowed:
            errors[f"{field_name}.{fmt}"] = f"a {unit_kind} plan has formats {', '.join(allowed)}"
        elif not isinstance(count, int) or not 0 <= count <= 20:
            errors[f"{field_name}.{fmt}"] = "give a whole number of sessions from 0 to 20"
    if not errors and not any(mix.values()):
        errors[field_name] = "plan at least one session in one format"
    if errors:
        raise RuleBroken("the session mix is not valid", errors)
    return dict(mix)
