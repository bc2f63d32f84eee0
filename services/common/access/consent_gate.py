"""The consent service's decision point, as other services ask it over HTTP.

The referral service asks before it sends a referral, with the sender's own token (a clinician
or coordinator). The plan service asks before it shows one partner's individual material to the
other partner or to that partner's own therapist, with its own service credential, naming the
reader (`on_behalf_of`; services/common/auth/service_identity.py) and the read's correlation id, so
the decision and the access event of that read share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from services.common.auth.service_identity import ON_BEHALF_OF
from services.common.errors import Forbidden, Unavailable
from services.common.settings import Settings

PERMIT = "PERMIT"


@dataclass(frozen=True)
class DecisionRequest:
    """May the practice disclose these categories of `person_id` to `recipient` for `purpose`?"""

    person_id: str
    recipient: dict[str, Any]
    purpose: str
    categories: list[str]
    labels: list[str]
    context: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        body = {
            "person_id": self.person_id,
            "recipient": self.recipient,
            "purpose": self.purpose,
            "categories": self.categories,
            "labels": self.labels,
        }
        return {**body, "context": self.context} if self.context else body


@dataclass(frozen=True)
class ConsentDecision:
    decision_id: str
    outcome: str  # PERMIT, DENY or NO_CONSENT
    basis: dict[str, Any] = field(default_factory=dict)
    obligations: list[dict[str, Any]] = field(default_factory=list)
    trace: list[Any] = field(default_factory=list)

    @property
    def permitted(self) -> bool:
        return self.outcome == PERMIT


@dataclass(frozen=True)
class Asking:
    """Who asks: a bearer token, the end caller a service credential names, the flow's id."""

    token: str | None
    on_behalf_of: str | None = None
    correlation_id: str | None = None


class ConsentGate:
    """Asks for a consent decision; raises Unavailable (503) when no decision could be had.

    Callers ask with `decide`; each kind of gate answers in `answer`, told who asks.
    """

    def decide(
        self,
        request: DecisionRequest,
        *,
        token: str | None,
        on_behalf_of: str | None = None,
        correlation_id: str | None = None,
    ) -> ConsentDecision:
        return self.answer(request, Asking(token, on_behalf_of, correlation_id))

    def answer(self, request: DecisionRequest, asking: Asking) -> ConsentDecision:
        raise NotImplementedError


def _obligations(raw: Any) -> list[dict[str, Any]]:
    """Obligations as dicts (a bare code becomes `{"code": ...}`)."""
    items = raw if isinstance(raw, list) else []
    return [item if isinstance(item, dict) else {"code": str(item)} for item in items]


def parse_decision(data: Any) -> ConsentDecision:
    """A decision from the decision point's JSON; Unavailable when it is not one."""
    if not isinstance(data, dict) or not data.get("decision_id") or not data.get("outcome"):
        raise Unavailable("the consent service answered without a decision; retry shortly")
    basis = data.get("basis")
    trace = data.get("trace")
    return ConsentDecision(
        decision_id=str(data["decision_id"]),
        outcome=str(data["outcome"]).upper(),
        basis=basis if isinstance(basis, dict) else {},
        obligations=_obligations(data.get("obligations")),
        trace=trace if isinstance(trace, list) else [],
    )


def asking_headers(
    token: str | None, on_behalf_of: str | None = None, correlation_id: str | None = None
) -> dict[str, str]:
    """The headers of a question one service asks another: its bearer token, whose question it
    is (`X-On-Behalf-Of`, a service credential only) and the flow it belongs to."""
    given = {
        "Authorization": f"Bearer {token}" if token else None,
        ON_BEHALF_OF: on_behalf_of,
        "X-Correlation-Id": correlation_id,
    }
    return {k: v for k, v in given.items() if v}


class HttpConsentGate(ConsentGate):
    """`POST {consent_url}/decisions` with the given bearer token (and end caller, if any)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        consequence: str = "the referral was not sent",
    ) -> None:
        self._not_done = consequence
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport
        )

    def answer(self, request: DecisionRequest, asking: Asking) -> ConsentDecision:
        headers = asking_headers(asking.token, asking.on_behalf_of, asking.correlation_id)
        try:
            response = self._client.post("/decisions", json=request.as_json(), headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"the consent service did not answer; {self._not_done}, retry shortly"
            ) from exc
        if response.status_code in (401, 403):
            raise Forbidden(
                f"the consent service refused this caller ({response.status_code}): ask for "
                f"consent decisions as a clinician, a coordinator or a service; {self._not_done}"
            )
        if response.status_code >= 500 or response.status_code in (404, 408, 429):
            raise Unavailable(
                f"the consent service answered {response.status_code}; "
                f"{self._not_done}, retry shortly"
            )
        if response.status_code >= 400:
            raise Unavailable(
                f"the consent service refused the decision request ({response.status_code}); "
                f"{self._not_done}"
            )
        try:
            return parse_decision(response.json())
        except ValueError as exc:
            raise Unavailable("the consent service answered with invalid JSON") from exc

    def close(self) -> None:
        self._client.close()


def consent_url(settings: Settings) -> str:
    """The consent service's base URL; RuntimeError when none is configured."""
    url = settings.consent_url or settings.service_urls.get("consent", "")
    if not url:
        raise RuntimeError(
            "no consent service configured: set CARELEDGER_CONSENT_URL or run `careledger stack up`"
        )
    return url


class NoConsentService(ConsentGate):
    """Stands in when no consent service is configured: every decision is a clear 503."""

    def answer(self, request: DecisionRequest, asking: Asking) -> ConsentDecision:
        raise Unavailable(
            "no consent service is configured (CARELEDGER_CONSENT_URL), so the other partner's "
            "material cannot be checked; it was not shown"
        )


def consent_gate_of(
    settings: Settings,
    *,
    timeout: float = 5.0,
    consequence: str = ("the other partner's material was not shown"),
) -> ConsentGate:
    """The HTTP gate to the configured consent service, or one that answers 503."""
    url = settings.consent_url or settings.service_urls.get("consent", "")
    if not url:
        return NoConsentService()
    return HttpConsentGate(url, timeout=timeout, consequence=consequence)
