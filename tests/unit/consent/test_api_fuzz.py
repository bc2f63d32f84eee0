"""Generated requests against every consent endpoint never get a 500 (schemathesis)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.common.settings import Settings
from services.consent.application import ConsentApplication
from services.consent.bootstrap import create_app

ROLES = ["clinician", "coordinator", "compliance", "integration", "admin"]


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(app: ConsentApplication) -> None:
    api = create_app(Settings(env="dev"), app)
    token = api.state.tokens.mint("clin-1", "practice-1", ROLES)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    failures: list[tuple[str, str, int, str]] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500:
                failures.append((case.method, case.path, response.status_code, response.text))

        call()
    assert failures == []
