"""The HTTP client of the consent decision point, against a mocked transport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from services.common.access.consent_gate import DecisionRequest, HttpConsentGate
from services.common.errors import Forbidden, Unavailable

REQUEST = DecisionRequest(
    person_id="client-1",
    recipient={"kind": "organization", "id": "org-1", "name": "Detox"},
    purpose="TREAT",
    categories=["referral", "substance-use"],
    labels=["42CFRPart2", "ETH", "R"],
)


def gate(handler: Callable[[httpx.Request], httpx.Response]) -> HttpConsentGate:
    return HttpConsentGate("http://consent.test/", transport=httpx.MockTransport(handler))


def test_a_decision_is_asked_with_the_callers_token_and_parsed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201,
            json={
                "decision_id": "d-1",
                "outcome": "PERMIT",
                "basis": {"consent_id": "c-1"},
                "obligations": [{"code": "attach-part2-notice", "text": "42 CFR part 2 ..."}],
                "trace": ["consent c-1 v2 permits"],
            },
        )

    decision = gate(handler).decide(REQUEST, token="tok")
    assert decision.permitted and decision.decision_id == "d-1"
    assert decision.obligations[0]["code"] == "attach-part2-notice"
    assert seen[0].url == "http://consent.test/decisions"
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert json.loads(seen[0].content) == REQUEST.as_json()


def test_an_unreachable_consent_service_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Unavailable, match="not sent"):
        gate(handler).decide(REQUEST, token=None)


@pytest.mark.parametrize("status", [500, 502, 503, 404])
def test_a_failing_consent_service_is_unavailable(status: int) -> None:
    with pytest.raises(Unavailable):
        gate(lambda r: httpx.Response(status, json={})).decide(REQUEST, token=None)


@pytest.mark.parametrize("status", [401, 403])
def test_a_caller_the_consent_service_refuses_is_forbidden(status: int) -> None:
    with pytest.raises(Forbidden, match="a clinician, a coordinator or a service"):
        gate(lambda r: httpx.Response(status, json={})).decide(REQUEST, token="t")


@pytest.mark.parametrize("body", [b"not json", b'{"outcome": "PERMIT"}', b"[]"])
def test_an_answer_without_a_decision_is_unavailable(body: bytes) -> None:
    with pytest.raises(Unavailable):
        gate(lambda r: httpx.Response(201, content=body)).decide(REQUEST, token=None)
