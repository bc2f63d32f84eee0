"""Due dates: detox the same day, others two business days, first appointment in seven days."""

from __future__ import annotations

import datetime as dt

import pytest

from services.referral.domain import Deadline, ServiceLevels
from services.referral.domain.service_levels import add_business_days

UTC = dt.UTC
NY = "America/New_York"


def at(day: str, time: str = "10:00", zone: str = "UTC") -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=ZoneInfo(zone))


def end_of(day: str, zone: str = "UTC") -> dt.datetime:
    return at(day, "00:00", zone) + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("sent", "due"),
    [
        ("2026-03-02", "2026-03-04"),  # Monday -> Wednesday
        ("2026-03-05", "2026-03-09"),  # Thursday -> Monday
        ("2026-03-06", "2026-03-10"),  # Friday -> Tuesday
        ("2026-03-07", "2026-03-10"),  # Saturday -> Tuesday (Monday is the first business day)
        ("2026-03-08", "2026-03-10"),  # Sunday -> Tuesday
    ],
)
def test_a_routine_referral_is_due_for_acknowledgement_in_two_business_days(
    sent: str, due: str
) -> None:
    levels = ServiceLevels()
    assert levels.acknowledge_by("outpatient-sud", "routine", at(sent)) == end_of(due)


@pytest.mark.parametrize("day", ["2026-03-06", "2026-03-07", "2026-03-08"])
def test_a_detox_referral_is_due_for_acknowledgement_the_same_day_even_on_a_weekend(
    day: str,
) -> None:
    assert ServiceLevels().acknowledge_by("detox", "routine", at(day, "16:30")) == end_of(day)


def test_the_first_appointment_is_due_within_seven_calendar_days() -> None:
    levels = ServiceLevels()
    assert levels.first_appointment_by("psychiatry", "routine", at("2026-03-06")) == end_of(
        "2026-03-13"
    )


def test_a_practice_holiday_is_not_a_business_day() -> None:
    levels = ServiceLevels(holidays=frozenset({dt.date(2026, 3, 3)}))
    assert levels.acknowledge_by("psychiatry", "routine", at("2026-03-02")) == end_of("2026-03-05")


def test_the_due_day_is_counted_in_the_practice_time_zone() -> None:
    levels = ServiceLevels(timezone=NY)
    # 02:00 UTC on Tuesday is still Monday evening in New York.
    sent = at("2026-03-03", "02:00")
    assert levels.acknowledge_by("detox", "urgent", sent) == end_of("2026-03-02", NY)
    assert levels.acknowledge_by("detox", "urgent", sent).tzinfo == UTC


def test_rules_are_configurable_by_type_and_priority() -> None:
    levels = ServiceLevels.from_config(
        acknowledge={"*:stat": "0d", "psychiatry": "5bd", "psychiatry:asap": "1bd"},
        first_appointment={"detox": "1d"},
    )
    monday = at("2026-03-02")
    assert levels.acknowledge_by("family-therapy", "stat", monday) == end_of("2026-03-02")
    assert levels.acknowledge_by("psychiatry", "routine", monday) == end_of("2026-03-09")
    assert levels.acknowledge_by("psychiatry", "asap", monday) == end_of("2026-03-03")
    assert levels.acknowledge_by("detox", "routine", monday) == end_of("2026-03-02")
    assert levels.first_appointment_by("detox", "stat", monday) == end_of("2026-03-03")
    assert levels.first_appointment_by("psychiatry", "stat", monday) == end_of("2026-03-09")


@pytest.mark.parametrize(("text", "expected"), [("2bd", Deadline(2, True)), ("7d", Deadline(7))])
def test_a_deadline_is_written_as_days_or_business_days(text: str, expected: Deadline) -> None:
    assert Deadline.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize("text", ["2", "two days", "-1d", "3w"])
def test_a_malformed_deadline_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="2bd"):
        Deadline.parse(text)


def test_zero_business_days_from_a_weekend_is_the_next_monday() -> None:
    assert add_business_days(dt.date(2026, 3, 7), 0, frozenset()) == dt.date(2026, 3, 9)


def test_rules_without_a_default_are_refused() -> None:
    with pytest.raises(ValueError, match="default"):
        ServiceLevels(acknowledge={"detox": Deadline(0)})


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(Exception, match="Nowhere"):
        ServiceLevels(timezone="Mars/Nowhere")


def test_a_naive_send_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        ServiceLevels().acknowledge_by("detox", "stat", dt.datetime(2026, 3, 2, 9))
