"""Schemathesis against each service's OpenAPI document, in memory: no 5xx, answers as documented.

A token holding every role calls every operation with generated input (at least 1,000 cases per
service, derandomized so a run is reproducible). Checks: no server error; the status code, the
content type and the body are the ones the OpenAPI document declares for the operation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.fuzz.support_fuzzing import (
    UNDOCUMENTED_CONTENT_TYPE,
    UNDOCUMENTED_STATUS,
    Finding,
    FuzzReport,
    all_roles_token,
    fuzz_app,
)
from tests.unit.test_access_matrix import BUILDERS, HOME

pytestmark = pytest.mark.slow

CASES_PER_SERVICE = 1_000
SERVICES = sorted(BUILDERS)

# Found by this suite; the kit or the services must change, not these tests (see docs/faults.md).


@pytest.fixture(scope="module")
def reports() -> Iterator[dict[str, FuzzReport]]:
    """One fuzz run per service, shared by the tests below (each asserts one property)."""
    found: dict[str, FuzzReport] = {}
    for service in SERVICES:
        build, seed = BUILDERS[service]
        app = build()
        with TestClient(app, raise_server_exceptions=False) as client:
            ids = seed(client)
        operations = sum(len(methods) for methods in app.openapi()["paths"].values())
        # Hypothesis stops early on operations with little to vary: ask for more than needed.
        per_operation = math.ceil(CASES_PER_SERVICE * 1.6 / operations)
        started = time.monotonic()
        report = fuzz_app(
            app, ids, examples_per_operation=per_operation, token=all_roles_token(HOME)
        )
        print(
            f"\nfuzz {service}: {report.cases} cases over {operations} operations in "
            f"{time.monotonic() - started:.1f}s; {len(report.findings)} distinct findings"
        )
        found[service] = report
    yield found


def listing(findings: list[Finding]) -> str:
    return "\n".join(str(f) for f in findings)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_fuzzed_with_at_least_a_thousand_cases(
    reports: dict[str, FuzzReport], service: str
) -> None:
    report = reports[service]
    assert report.cases >= CASES_PER_SERVICE, report.per_operation
    assert all(report.per_operation.values()), report.per_operation


@pytest.mark.parametrize("service", SERVICES)
def test_no_generated_request_gets_a_server_error(
    reports: dict[str, FuzzReport], service: str
) -> None:
    assert reports[service].server_errors() == [], listing(reports[service].server_errors())


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_body_matches_the_documented_schema_and_no_other_check_fails(
    reports: dict[str, FuzzReport], service: str
) -> None:
    others = reports[service].other_than(UNDOCUMENTED_STATUS, UNDOCUMENTED_CONTENT_TYPE)
    assert others == [], listing(others)


@pytest.mark.parametrize("service", SERVICES)
def test_every_status_code_answered_is_documented(
    reports: dict[str, FuzzReport], service: str
) -> None:
    undocumented = reports[service].of_check(UNDOCUMENTED_STATUS)
    assert undocumented == [], listing(undocumented)


@pytest.mark.parametrize("service", SERVICES)
def test_every_content_type_answered_is_documented(
    reports: dict[str, FuzzReport], service: str
) -> None:
    undocumented = reports[service].of_check(UNDOCUMENTED_CONTENT_TYPE)
    assert undocumented == [], listing(undocumented)
