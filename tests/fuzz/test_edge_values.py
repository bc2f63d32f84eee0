"""Every edge value in every field of a valid request: never a 5xx, always a documented answer.

Hypothesis' draws favour simple values, so a date in year 9999 in the one field whose arithmetic
overflows may never be drawn. This sweep is exhaustive instead: for each write operation with an
example body (support_examples.py), each leaf of the body gets each edge value of its kind
(support_extremes.py) in turn, with every other field valid, so the domain is reached.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fuzz import support_extremes
from tests.fuzz.support_examples import EXAMPLES, fill
from tests.fuzz.support_fuzzing import all_roles_token
from tests.unit.test_access_matrix import BUILDERS, HOME

pytestmark = pytest.mark.slow

VALUES = {
    "date": support_extremes.EXTREME_DATES,
    "moment": support_extremes.EXTREME_MOMENTS,
    "int": support_extremes.EXTREME_INTEGERS + support_extremes.EXTREME_FLOATS,
    "float": support_extremes.EXTREME_INTEGERS + support_extremes.EXTREME_FLOATS,
    "text": support_extremes.ODD_TEXT,
}
EXPECTED = {200, 201, 404, 409, 412, 413, 422}


def owner(label: str, documents: dict[str, Any]) -> str:
    method, path = label.split(" ", 1)
    for service, document in documents.items():
        if method.lower() in document["paths"].get(path, {}):
            return service
    raise AssertionError(f"no service serves {label}")


def edge_cases(body: Any) -> Iterator[tuple[str, Any]]:
    for kind, values in VALUES.items():
        for which, path in enumerate(support_extremes.leaves(body, kind)):
            for value in values:
                changed, _ = support_extremes.twisted(body, (kind, value, which))
                yield f"{'.'.join(map(str, path))}={value!r}"[:80], changed


def seeded(service: str, client: TestClient) -> dict[str, str]:
    """Fresh records of `service` in its app (an active plan takes sessions and reviews)."""
    ids = BUILDERS[service][1](client)
    if service == "plan":
        headers = {"Authorization": f"Bearer {all_roles_token(HOME)}"}
        activated = client.post(
            f"/plans/{ids['plan_id']}/status", json={"status": "active"}, headers=headers
        )
        assert activated.status_code == 200, activated.text
    return ids


@pytest.fixture(scope="module")
def documents() -> dict[str, Any]:
    return {service: build().openapi() for service, (build, _) in BUILDERS.items()}


@pytest.mark.parametrize("label", sorted(EXAMPLES))
def test_no_edge_value_in_any_field_of_a_valid_request_gets_a_server_error(
    documents: dict[str, Any], label: str
) -> None:
    service = owner(label, documents)
    client = TestClient(BUILDERS[service][0](), raise_server_exceptions=False)
    ids = seeded(service, client)
    method, template = label.split(" ", 1)
    headers = {
        "Authorization": f"Bearer {all_roles_token(HOME)}",
        "content-type": "application/json",
    }
    wrong = []
    sent = 0
    for where, body in edge_cases(EXAMPLES[label]):
        content = json.dumps(fill(body, ids)).encode()
        response = client.request(method, template.format(**ids), content=content, headers=headers)
        sent += 1
        kind = response.headers.get("content-type", "")
        if response.status_code not in EXPECTED or (
            response.status_code >= 400 and not kind.startswith("application/problem+json")
        ):
            wrong.append(f"{where} -> {response.status_code} {response.text[:120]}")
        if response.status_code < 300:  # the records changed: the next case starts afresh
            try:
                ids = seeded(service, client)
            except AssertionError:  # records that exist once per app (a couple's agreement)
                client = TestClient(BUILDERS[service][0](), raise_server_exceptions=False)
                ids = seeded(service, client)
    assert sent > 0
    assert wrong == [], "\n".join(wrong)
