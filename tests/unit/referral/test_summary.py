"""Referral summaries survive the trip through JSON (the PostgreSQL read model stores them so)."""

from __future__ import annotations

import datetime as dt

from services.referral.application import ReferralApplication
from services.referral.domain.commands import Accept, Schedule, SendReferral
from services.referral.summary import summary_from_json, summary_to_json
from tests.unit.referral.support_helpers import CTX, T0
from tests.unit.referral.test_application import draft


def test_a_summary_read_back_from_json_is_the_same_summary(app: ReferralApplication) -> None:
    rid = draft(app)
    app.send(ctx=CTX, referral_id=rid, command=SendReferral(), token=None)
    app.step(ctx=CTX, referral_id=rid, command=Accept())
    app.step(ctx=CTX, referral_id=rid, command=Schedule(appointment_at=T0 + dt.timedelta(1)))
    [summary] = app.summaries.every(app, tenant=CTX.tenant)
    assert summary_from_json(summary_to_json(summary)) == summary
    assert summary.appointments == 1 and summary.accepted_at == T0
