"""One practice (tenant) driving the three services over HTTP, recording each step it takes.

A journey calls `Practice.call(...)`: it mints a token for the role, sends the request, checks
the status it expects and records a `Step` (what was done, the outcome, the ETag). Steps hold
ids and codes only, never names or free text, so printing them is safe.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.common.auth.callers import TokenService

SERVICES = ("plan", "consent", "referral")
ROLES = ("clinician", "coordinator", "compliance", "integration", "admin")


class JourneyError(RuntimeError):
    """A call answered something the journey did not expect (the problem body included)."""


class StackNotUp(RuntimeError):
    """The services are not reachable: the stack is not running."""


@dataclass(frozen=True)
class Step:
    """One call of a journey: what was done, how it went, and the version it produced."""

    service: str
    action: str
    status: int
    outcome: str = ""
    etag: str | None = None


@dataclass
class Answer:
    """A response: status, JSON body (or text) and ETag."""

    status: int
    body: Any
    etag: str | None
    text: str = ""

    def __getitem__(self, key: str) -> Any:
        return self.body[key]


def new_tenant() -> str:
    return f"demo-{uuid.uuid4().hex[:8]}"


def new_client_id(label: str) -> str:
    """A synthetic client id: `partner-a-1f2e3d4c` (never a name)."""
    return f"{label}-{uuid.uuid4().hex[:8]}"


@dataclass
class Practice:
    """A tenant with a token per role, and the services' base URLs."""

    urls: Mapping[str, str]
    tokens: TokenService
    tenant: str = field(default_factory=new_tenant)
    on_step: Callable[[Step], None] | None = None
    timeout: float = 15.0
    steps: list[Step] = field(default_factory=list)
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        missing = [s for s in SERVICES if not self.urls.get(s)]
        if missing:
            raise StackNotUp(f"no URL for {', '.join(missing)}: run `careledger stack up` first")
        self._http = httpx.Client(timeout=self.timeout)

    def close(self) -> None:
        self._http.close()

    def token(self, role: str, sub: str | None = None) -> str:
        return self.tokens.mint(sub or f"{role}-1", self.tenant, [role])

    def check_up(self) -> None:
        """StackNotUp unless every service answers /health."""
        for service in SERVICES:
            url = f"{self.urls[service].rstrip('/')}/health"
            try:
                self._http.get(url, timeout=3.0)
            except httpx.HTTPError:
                raise StackNotUp(
                    f"the {service} service does not answer at {self.urls[service]}: "
                    "run `careledger stack up` first"
                ) from None

    def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        action: str,
        role: str,
        sub: str | None = None,
        json: Any = None,
        params: Any = None,
        expect: Iterable[int] = (200, 201),
        headers: Mapping[str, str] | None = None,
        outcome: Callable[[Any], str] | None = None,
    ) -> Answer:
        """Send one request as `role`; JourneyError unless the status is one of `expect`."""
        send = {"Authorization": f"Bearer {self.token(role, sub)}", **(headers or {})}
        url = f"{self.urls[service].rstrip('/')}{path}"
        try:
            response = self._http.request(method, url, json=json, params=params, headers=send)
        except httpx.HTTPError as exc:
            raise StackNotUp(
                f"{service} did not answer ({type(exc).__name__}): run `careledger stack up` first"
            ) from None
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        answer = Answer(response.status_code, body, response.headers.get("etag"), response.text)
        if response.status_code not in tuple(expect):
            raise JourneyError(
                f"{action}: {method} {service}{path} answered {response.status_code}, "
                f"expected {sorted(expect)}: {response.text[:800]}"
            )
        summary = outcome(body) if outcome and body is not None else ""
        self.record(Step(service, action, response.status_code, summary, answer.etag))
        return answer

    def record(self, step: Step) -> None:
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)

    def poll(
        self,
        action: str,
        probe: Callable[[], Any],
        *,
        timeout: float = 60.0,
        interval: float = 0.5,
    ) -> Any:
        """Call `probe` until it returns something truthy; JourneyError after `timeout`."""
        started = time.monotonic()
        while True:
            found = probe()
            if found:
                waited = time.monotonic() - started
                self.record(Step("-", action, 0, f"after {waited:.1f} s"))
                return found
            if time.monotonic() - started > timeout:
                raise JourneyError(f"{action}: nothing after {timeout:.0f} s")
            time.sleep(interval)

    def quiet_get(
        self, service: str, path: str, *, role: str, sub: str | None = None, params: Any = None
    ) -> Any:
        """A GET that records no step (for polling); the JSON body, or None unless 200."""
        url = f"{self.urls[service].rstrip('/')}{path}"
        auth = {"Authorization": f"Bearer {self.token(role, sub)}"}
        response = self._http.get(url, params=params, headers=auth)
        return response.json() if response.status_code == 200 else None
