"""Service levels come from `CARELEDGER_REFERRAL_*` settings."""

from __future__ import annotations

import datetime as dt

import pytest

from services.referral.domain import Deadline
from services.referral.settings import ReferralSettings


def test_service_levels_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELEDGER_REFERRAL_ACKNOWLEDGE", '{"*:stat": "0d", "*": "3bd"}')
    monkeypatch.setenv("CARELEDGER_REFERRAL_FIRST_APPOINTMENT", '{"detox": "2d"}')
    monkeypatch.setenv("CARELEDGER_REFERRAL_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("CARELEDGER_REFERRAL_HOLIDAYS", '["2026-12-25"]')
    levels = ReferralSettings().service_levels()
    assert levels.acknowledge["*"] == Deadline(3, business=True)
    assert levels.acknowledge["detox"] == Deadline(0)  # the default stays
    assert levels.first_appointment == {"*": Deadline(7), "detox": Deadline(2)}
    assert levels.timezone == "Europe/Berlin"
    assert levels.holidays == frozenset({dt.date(2026, 12, 25)})


def test_a_malformed_rule_is_refused_with_an_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELEDGER_REFERRAL_ACKNOWLEDGE", '{"*": "two days"}')
    with pytest.raises(ValueError, match="2bd"):
        ReferralSettings().service_levels()
