"""Production mode end to end: real API processes, EdDSA keys from a JWKS file, no HS256.

`careledger keys new` makes the plan service's key and an issuer's; `careledger serve consent`
and `careledger serve plan` run with CARELEDGER_ENV unset (production) on the stack's
PostgreSQL, verifying with that JWKS. The plan service asks the consent service, with its own
Ed25519 credential, before a partner's portal sees the other partner's individual session.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from services.common.auth.callers import TokenService
from services.common.settings import Settings
from services.stack.stack import executable
from services.stack.state import StackInfo, free_port
from tests.unit.plan.support_api_client import MARK, plan_body, signed_agreement
from tests.unit.plan.support_builders import ALEX, SAM, THERAPIST

REPO = Path(__file__).resolve().parents[2]
Mint = Callable[..., dict[str, str]]


def _careledger(*argv: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [executable(), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def _serve(service: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [executable(), "serve", service, "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded machine starts a Python API slowly
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        time.sleep(0.3)
    process.kill()
    raise AssertionError(f"{service} did not answer ({process.poll()}): {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def world(stack: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The two APIs in production mode, and the issuer's key."""
    keys = tmp_path_factory.mktemp("keys")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELEDGER_")}
    env |= {
        "CARELEDGER_HOME": stack.home,
        "CARELEDGER_DATABASE_URL": stack.database_url,
        "CARELEDGER_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
    }
    for name in ("plan", "issuer"):
        _careledger("keys", "new", name, "--dir", str(keys), env=env)
    env["CARELEDGER_JWT_JWKS"] = str(keys / "jwks.json")
    started: list[subprocess.Popen[bytes]] = []
    try:
        consent, consent_url = _serve("consent", env, keys / "consent.log")
        started.append(consent)
        plan_env = {
            **env,
            "CARELEDGER_CONSENT_URL": consent_url,
            "CARELEDGER_SERVICE_KEY_FILE": str(keys / "plan.pem"),
        }
        plan, plan_url = _serve("plan", plan_env, keys / "plan.log")
        started.append(plan)
        yield {"consent": consent_url, "plan": plan_url, "issuer": str(keys / "issuer.pem")}
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def token(world: dict[str, str]) -> Mint:
    """Tokens the issuer's key signs, as `careledger token --key` mints them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELEDGER_")}
    tenant = f"prod-{uuid.uuid4().hex[:8]}"  # the stack's own schemas: a practice of its own

    def mint(role: str, sub: str = THERAPIST, **extra: str) -> dict[str, str]:
        argv = [
            "token",
            "--role",
            role,
            "--sub",
            sub,
            "--tenant",
            tenant,
            "--key",
            world["issuer"],
            *[f"--{k}={v}" for k, v in extra.items()],
        ]
        return {"Authorization": f"Bearer {_careledger(*argv, env=env)}"}

    return mint


def test_a_partners_portal_sees_the_other_partners_session_once_consent_permits_it(
    world: dict[str, str], token: Mint
) -> None:
    clinician = token("clinician")
    with httpx.Client(base_url=world["consent"], timeout=30) as consent:
        agreement_id = signed_agreement(consent, "no-secrets", clinician)
    with httpx.Client(base_url=world["plan"], timeout=30) as plan:
        created = plan.post("/plans", json=plan_body(), headers=clinician)
        assert created.status_code == 201, created.text
        plan_id = created.json()["plan_id"]
        active = plan.post(
            f"/plans/{plan_id}/status",
            json={"status": "active"},
            headers={**clinician, "If-Match": '"1"'},
        )
        assert active.status_code == 200, active.text
        session = {
            "format": "individual",
            "modality": "in-person",
            "held_on": "2026-01-12",
            "partner_id": SAM,
            "focus_issues": [MARK],
            "homework": [MARK],
            "sharing_agreement_id": agreement_id,
        }
        held = plan.post(f"/plans/{plan_id}/sessions", json=session, headers=clinician)
        assert held.status_code == 201, held.text
        shown = plan.get(f"/plans/{plan_id}", headers=token("client", "portal-alex", patient=ALEX))
        assert shown.status_code == 200, shown.text
        assert MARK in shown.text  # the consent service permitted it, asked by the plan service
    with httpx.Client(base_url=world["consent"], timeout=30) as consent:
        decided = consent.get(
            "/decisions", params={"person_id": SAM}, headers=token("compliance", "auditor")
        )
        assert decided.status_code == 200, decided.text
        assert [
            (d["actor_id"], d["recipient"]["id"], d["outcome"]) for d in decided.json()["items"]
        ] == [("portal-alex", ALEX, "PERMIT")]


def test_an_hs256_token_is_refused_in_production(world: dict[str, str]) -> None:
    dev = TokenService(Settings(env="dev")).mint(THERAPIST, "practice-a", ["clinician"])
    for service, path in (("plan", "/plans"), ("consent", "/agreements")):
        answer = httpx.get(
            f"{world[service]}{path}", headers={"Authorization": f"Bearer {dev}"}, timeout=30
        )
        assert answer.status_code == 401, (service, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "HS256" in answer.json()["detail"]
