"""Fixtures of the referral unit tests: an in-memory application with a fake consent gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from services.common.store.application import build_application
from services.referral.application import ReferralApplication
from tests.unit.referral.support_helpers import T0, FakeConsentGate


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def gate() -> FakeConsentGate:
    return FakeConsentGate("PERMIT")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def app(gate: FakeConsentGate, clock: Clock) -> Iterator[ReferralApplication]:
    application: ReferralApplication = build_application(ReferralApplication, None)
    application.consent_gate = gate
    application.clock = clock
    yield application
    application.close()
