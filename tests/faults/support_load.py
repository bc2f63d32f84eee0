"""Bounded HTTP load on the plan (and referral) APIs from a few threads, recording every answer.

Each unit of work drafts a couple's plan, activates it and shifts its format for substance use or
withdrawal risk (which makes the referral service draft a suggestion); every tenth unit also
drafts a referral naming a contact and an address. Requests carry synthetic PHI (names, an
address, free-text rationale) so that the logs can be scanned for it afterwards.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.common.auth.callers import TokenService
from services.common.settings import Settings

TENANT = "practice-faults"
SHIFT_REASONS = ("withdrawal-risk", "substance-use")
# Synthetic PHI: none of these may ever appear in a log line.
RATIONALE = "relapsed after the lakehouse anniversary weekend"
CONTACT_NAME = "Marisol Quintanilla-Brightwater"
ORGANIZATION_ADDRESS = "4417 Juniper Hollow Lane, Tacoma"
REFERRAL_REASON = "drinks alone most nights since losing the bakery job"
PHI_VALUES = (RATIONALE, CONTACT_NAME, ORGANIZATION_ADDRESS, REFERRAL_REASON)


def token(*, everyone: bool = False) -> str:
    roles = ["clinician", "coordinator", "compliance", "integration", "admin"]
    return TokenService(Settings(env="dev")).mint(
        "clin-faults", TENANT, roles if everyone else roles[:2], ttl_seconds=3600
    )


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the answer came
    command: str
    status: int  # 0: no HTTP answer (connection refused, reset or timed out)
    content_type: str
    plan_id: str | None = None  # the record the command changed (a plan, consent or referral)
    version: int | None = None
    service: str = "plan"
    sent: float = 0.0  # time.monotonic() when the request went out


@dataclass
class PlanLoad:
    """`commands` plan commands from `threads` threads, one unit of work every `pace` seconds.

    With `consent`, each unit also records and activates a Part 2 consent. A request that
    could not connect is sent again up to `connect_retries` times (it never reached a server),
    to the URL `url` gives then: a load balancer's retry on the next replica.
    """

    url: Callable[[str], str]  # service -> base URL, read again for every request
    commands: int = 300
    threads: int = 4
    pace: float = 0.15
    timeout: float = 20.0
    consent: bool = False
    connect_retries: int = 0
    answers: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)
    _units: Any = field(default_factory=itertools.count)
    _stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> PlanLoad:
        auth = {"Authorization": f"Bearer {token()}"}
        for _ in range(self.threads):
            worker = threading.Thread(target=self._work, args=(auth,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> None:
        """No new unit of work after the ones under way."""
        self._stopped.set()

    def join(self, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        for worker in self._workers:
            worker.join(max(0.1, deadline - time.monotonic()))
        assert not any(w.is_alive() for w in self._workers), "the load did not finish in time"

    def _sent(self) -> int:
        with self._lock:
            return len(self.answers)

    def _work(self, auth: dict[str, str]) -> None:
        with httpx.Client(timeout=self.timeout, headers=auth) as client:
            while self._sent() < self.commands and not self._stopped.is_set():
                unit = next(self._units)
                self._unit(client, unit)
                time.sleep(self.pace)

    def _post(
        self,
        client: httpx.Client,
        command: str,
        service: str,
        path: str,
        body: dict[str, Any],
        **headers: str,
    ) -> Answer:
        sent = time.monotonic()
        try:
            response = self._send(client, service, path, body, headers)
            data = response.json() if response.status_code < 300 else {}
            version = data.get("version") or _etag_version(response.headers.get("etag"))
            answer = Answer(
                time.monotonic(),
                command,
                response.status_code,
                response.headers.get("content-type", ""),
                data.get(ID_FIELDS[service]),
                version,
                service,
                sent,
            )
        except (httpx.TransportError, ValueError, KeyError) as exc:  # no answer: say why
            answer = Answer(
                time.monotonic(), command, 0, type(exc).__name__, service=service, sent=sent
            )
        with self._lock:
            self.answers.append(answer)
        return answer

    def _send(
        self,
        client: httpx.Client,
        service: str,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> httpx.Response:
        for attempt in range(self.connect_retries + 1):
            try:
                return client.post(self.url(service) + path, json=body, headers=headers)
            except httpx.ConnectError:
                if attempt == self.connect_retries:
                    raise
        raise AssertionError("unreachable")

    def _unit(self, client: httpx.Client, unit: int) -> None:
        a, b = f"client-{uuid.uuid4().hex[:8]}", f"client-{uuid.uuid4().hex[:8]}"
        created = self._post(client, "create", "plan", "/plans", plan_body(a, b))
        if created.status != 201 or not created.plan_id:
            return
        plan = f"/plans/{created.plan_id}"
        activated = self._post(
            client,
            "activate",
            "plan",
            f"{plan}/status",
            {"status": "active"},
            **{"If-Match": '"1"'},
        )
        if activated.status != 200:
            return
        reason = SHIFT_REASONS[unit % len(SHIFT_REASONS)]
        self._post(
            client,
            "shift",
            "plan",
            f"{plan}/format-shifts",
            shift_body(reason, a),
            **{"If-Match": '"2"'},
        )
        if unit % 10 == 0:
            body = referral_body(created.plan_id, a)
            self._post(client, "referral", "referral", "/referrals", body)
        if self.consent:
            drafted = self._post(client, "consent", "consent", "/consents", consent_body(a))
            if drafted.status == 201 and drafted.plan_id:
                self._post(
                    client,
                    "consent-activate",
                    "consent",
                    f"/consents/{drafted.plan_id}/activation",
                    {},
                    **{"If-Match": f'"{drafted.version}"'},
                )

    # What the answers say ---------------------------------------------------------------

    def statuses(self, since: float = 0, until: float = float("inf")) -> Counter[int]:
        return Counter(a.status for a in self.answers if since <= a.at <= until)

    def acknowledged(self, service: str = "plan") -> list[tuple[str, int]]:
        """(record id, version) of every command of `service` answered 2xx."""
        return [
            (a.plan_id, a.version)
            for a in self.answers
            if 200 <= a.status < 300 and a.plan_id and a.version and a.service == service
        ]

    def between(self, since: float, until: float) -> list[Answer]:
        return [a for a in self.answers if since <= a.at <= until]


ID_FIELDS = {"plan": "plan_id", "consent": "consent_id", "referral": "id"}


def _etag_version(etag: str | None) -> int | None:
    digits = (etag or "").strip('W/"')
    return int(digits) if digits.isdigit() else None


def consent_body(person: str) -> dict[str, Any]:
    return {
        "person_id": person,
        "part2": True,
        "disclosers": [TENANT],
        "description": RATIONALE,
        "recipients": [{"kind": "organization", "id": "org-harbor", "name": "Harbor Recovery"}],
        "purposes": ["TREAT"],
        "categories": ["substance-use", "assessment"],
        "labels": ["42CFRPart2", "ETH"],
        "start": "2026-01-01",
        "end": "2030-01-01",
        "revocation_right_acknowledged": True,
        "signature": {"signed_by": person, "signed_on": "2026-01-01"},
    }


def plan_body(a: str, b: str) -> dict[str, Any]:
    return {
        "unit_kind": "couple",
        "members": [{"client_id": a, "sex": "female"}, {"client_id": b, "sex": "male"}],
        "clinicians": [
            {"clinician_id": "clin-faults", "roles": ["couples-therapist", "individual-therapist"]}
        ],
        "mix": {"joint": 2, "individual": 2},
        "starts_on": "2026-01-05",
    }


def shift_body(reason: str, about: str) -> dict[str, Any]:
    return {
        "reason": reason,
        "rationale": RATIONALE,
        "about_partner_id": about,
        "decided_by": "clin-faults",
        "effective_on": "2026-02-01",
        "review_on": "2026-03-01",
        "mix": {"joint": 0, "individual": 4},
    }


def referral_body(plan_id: str, client_id: str) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "client_id": client_id,
        "referral_type": "outpatient-sud",
        "priority": "routine",
        "reason": REFERRAL_REASON,
        "organization": {
            "id": "org-harbor",
            "name": "Harbor Recovery",
            "address": ORGANIZATION_ADDRESS,
        },
        "contact": {"name": CONTACT_NAME, "role": "intake"},
    }
