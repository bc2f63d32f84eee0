"""The HTTP models' value sets are the domain's (one source of truth, checked here)."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from services.plan import schemas
from services.plan.domain import formats, goals


@pytest.mark.parametrize(
    ("literal", "domain"),
    [
        (schemas.UnitKind, formats.UNIT_KINDS),
        (schemas.Sex, formats.SEXES),
        (schemas.ClinicianRole, formats.CLINICIAN_ROLES),
        (schemas.SessionFormat, formats.SESSION_FORMATS),
        (schemas.Modality, formats.MODALITIES),
        (schemas.ShiftReason, tuple(formats.SHIFT_REASONS)),
        (schemas.PlanStatus, tuple(goals.PLAN_TRANSITIONS)),
        (schemas.GoalStatus, tuple(goals.GOAL_TRANSITIONS)),
        (schemas.GoalStartStatus, goals.GOAL_START_STATUSES),
        (schemas.Achievement, goals.ACHIEVEMENT),
    ],
)
def test_each_http_value_set_matches_the_domain(literal: Any, domain: tuple[str, ...]):
    assert set(get_args(literal)) == set(domain)
