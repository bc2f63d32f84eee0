"""Drive schemathesis over one in-memory service app and collect every failure, not just the first.

Each operation of the app's OpenAPI document gets its own Hypothesis run (derandomized, so a run
is reproducible). Half of the generated cases have their path parameters replaced by the ids of
records created beforehand, so the fuzzer reaches the domain instead of stopping at 404s; half
of those carry a valid example body instead of the generated one (support_examples.py), and about
five in six get one edge value swapped in (support_extremes.py): a date in year 1 or 9999, an
integer of forty digits, U+0000 or a lone surrogate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks as sc

from services.common.auth.callers import ALL_ROLES, TokenService
from services.common.settings import Settings
from tests.fuzz import support_extremes
from tests.fuzz.support_examples import example_for

SETTINGS = Settings(env="dev")
TENANT = "practice-fuzz"
UNDOCUMENTED_STATUS = "Undocumented status code"
UNDOCUMENTED_CONTENT_TYPE = "Undocumented Content-Type"
CHECKS: list[Callable[..., Any]] = [
    sc.not_a_server_error,
    sc.status_code_conformance,
    sc.content_type_conformance,
    sc.response_schema_conformance,
]


def all_roles_token(tenant: str = TENANT) -> str:
    staff = [r.value for r in ALL_ROLES if r.value != "client"]  # a client token stands alone
    return TokenService(SETTINGS).mint("fuzzer", tenant, staff)


@dataclass(frozen=True)
class Finding:
    """One failed check: which operation, which check, what was sent, what came back."""

    operation: str
    check: str
    status: int
    request: str
    response: str

    def __str__(self) -> str:
        return (
            f"{self.operation} [{self.check}] -> {self.status}\n"
            f"    request: {self.request}\n    response: {self.response}"
        )


@dataclass
class FuzzReport:
    cases: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)  # first per kind

    def record(self, finding: Finding) -> None:
        self.findings.setdefault((finding.operation, finding.check), finding)

    def server_errors(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.status >= 500]

    def of_check(self, *titles: str) -> list[Finding]:
        return [f for f in self.findings.values() if f.check in titles]

    def other_than(self, *titles: str) -> list[Finding]:
        """Findings of any check but these (server errors, schema violations, the unexpected)."""
        return [f for f in self.findings.values() if f.check not in titles]


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(case: Any) -> str:
    parts = [f"{case.method} {case.formatted_path}"]
    if case.query:
        parts.append(f"query={_short(case.query)}")
    if case.headers:
        shown = {k: v for k, v in case.headers.items() if k.lower() != "authorization"}
        if shown:
            parts.append(f"headers={_short(shown)}")
    if isinstance(case.body, str | dict | list | int | float | bool):
        parts.append(f"body={_short(case.body)}")
    return " ".join(parts)


def _failure_names(exc: BaseException) -> list[str]:
    """Titles of the failed checks in a schemathesis FailureGroup (or the one failure)."""
    inner = getattr(exc, "exceptions", None) or [exc]
    return sorted({str(getattr(e, "title", type(e).__name__)) for e in inner})


def fuzz_app(
    app: FastAPI, real_ids: dict[str, str], *, examples_per_operation: int, token: str
) -> FuzzReport:
    """Run every operation of the app's OpenAPI document; returns the cases run and findings."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    report = FuzzReport()
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        _fuzz_operation(result.ok(), real_ids, headers, examples_per_operation, report)
    return report


def _fuzz_operation(
    operation: Any,
    real_ids: dict[str, str],
    headers: dict[str, str],
    examples: int,
    report: FuzzReport,
) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    report.per_operation[label] = 0

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(),
        use_real_ids=st.booleans(),
        use_example=st.booleans(),
        twist=support_extremes.TWISTS,
    )
    def run(
        case: Any, use_real_ids: bool, use_example: bool, twist: support_extremes.Twist | None
    ) -> None:
        if use_real_ids and case.path_parameters:
            for name in case.path_parameters:
                if name in real_ids:
                    case.path_parameters[name] = real_ids[name]
        example = example_for(label, real_ids)
        if use_example and example is not None and (use_real_ids or not case.path_parameters):
            case.body = example
        support_extremes.apply(case, twist)
        response = case.call(headers=headers)
        report.cases += 1
        report.per_operation[label] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (sc.FailureGroup, sc.Failure, AssertionError) as exc:
            for name in _failure_names(exc):
                found = Finding(
                    label, name, response.status_code, _describe(case), _short(response.text)
                )
                report.record(found)

    run()
