"""Generated requests against every referral endpoint never get a 500 (schemathesis)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.referral.application import ReferralApplication
from tests.unit.referral.support_api_client import Api

ROLES = ["coordinator", "clinician", "compliance", "integration", "admin"]


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(app: ReferralApplication) -> None:
    api = Api(app)
    token = api.app.state.tokens.mint("coord-1", "practice-a", ROLES)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    failures: list[tuple[str, str, int]] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500:
                failures.append((case.method, case.path, response.status_code))

        call()
    assert failures == []
