"""Service levels: when a sent referral must be acknowledged and first seen.

A rule is a number of days, counted either as calendar days or as business days (Monday to
Friday, minus the practice's holidays). A due date is the end of the due day in the practice's
time zone. Rules are looked up from the most to the least specific key:
`<type>:<priority>`, `<type>`, `*:<priority>`, `*`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

_RULE = re.compile(r"^(\d{1,3})(bd|d)$")


@dataclass(frozen=True)
class Deadline:
    """`days` calendar days, or business days when `business` is true (0 = the same day)."""

    days: int
    business: bool = False

    @classmethod
    def parse(cls, text: str) -> Deadline:
        """`2bd` (two business days) or `7d` (seven calendar days)."""
        match = _RULE.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a deadline: write e.g. '2bd' or '7d'")
        return cls(int(match.group(1)), business=match.group(2) == "bd")

    def __str__(self) -> str:
        return f"{self.days}{'bd' if self.business else 'd'}"


def is_business_day(day: dt.date, holidays: frozenset[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: dt.date, days: int, holidays: frozenset[dt.date]) -> dt.date:
    """The business day `days` business days after `start` (0: `start` or the next business day).

    The day of sending never counts, so Saturday + 2 is Tuesday, like Friday + 2.
    """
    day = start
    if days == 0:
        while not is_business_day(day, holidays):
            day += dt.timedelta(days=1)
        return day
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_business_day(day, holidays):
            remaining -= 1
    return day


DEFAULT_ACKNOWLEDGE: dict[str, Deadline] = {"detox": Deadline(0), "*": Deadline(2, business=True)}
DEFAULT_FIRST_APPOINTMENT: dict[str, Deadline] = {"*": Deadline(7)}


@dataclass(frozen=True)
class ServiceLevels:
    """The due-date rules of one practice."""

    acknowledge: Mapping[str, Deadline] = field(default_factory=lambda: dict(DEFAULT_ACKNOWLEDGE))
    first_appointment: Mapping[str, Deadline] = field(
        default_factory=lambda: dict(DEFAULT_FIRST_APPOINTMENT)
    )
    timezone: str = "UTC"
    holidays: frozenset[dt.date] = frozenset()

    def __post_init__(self) -> None:
        for name, rules in (
            ("acknowledge", self.acknowledge),
            ("first_appointment", self.first_appointment),
        ):
            if "*" not in rules:
                raise ValueError(f"service level rules for {name} need a default '*' rule")
        ZoneInfo(self.timezone)  # raises for an unknown zone

    @classmethod
    def from_config(
        cls,
        *,
        acknowledge: Mapping[str, str] | None = None,
        first_appointment: Mapping[str, str] | None = None,
        timezone: str = "UTC",
        holidays: Iterable[dt.date] = (),
    ) -> ServiceLevels:
        """Rules written as text (`{"detox": "0d", "*": "2bd"}`) over the defaults."""
        ack = {
            **DEFAULT_ACKNOWLEDGE,
            **{k: Deadline.parse(v) for k, v in (acknowledge or {}).items()},
        }
        first = {
            **DEFAULT_FIRST_APPOINTMENT,
            **{k: Deadline.parse(v) for k, v in (first_appointment or {}).items()},
        }
        return cls(ack, first, timezone, frozenset(holidays))

    def acknowledge_by(self, kind: str, priority: str, sent_at: dt.datetime) -> dt.datetime:
        """When a referral sent at `sent_at` must have been acknowledged (received or answered)."""
        return self._due(self._rule(self.acknowledge, kind, priority), sent_at)

    def first_appointment_by(self, kind: str, priority: str, sent_at: dt.datetime) -> dt.datetime:
        """When the client must have had a first appointment."""
        return self._due(self._rule(self.first_appointment, kind, priority), sent_at)

    @staticmethod
    def _rule(rules: Mapping[str, Deadline], kind: str, priority: str) -> Deadline:
        for key in (f"{kind}:{priority}", kind, f"*:{priority}", "*"):
            if key in rules:
                return rules[key]
        raise KeyError("*")  # unreachable: __post_init__ requires '*'

    def _due(self, rule: Deadline, at: dt.datetime) -> dt.datetime:
        if at.tzinfo is None:
            raise ValueError("service levels need an aware datetime")
        zone = ZoneInfo(self.timezone)
        local_day = at.astimezone(zone).date()
        if rule.business:
            day = add_business_days(local_day, rule.days, self.holidays)
        else:
            day = local_day + dt.timedelta(days=rule.days)
        end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        return end_of_day.astimezone(dt.UTC)
