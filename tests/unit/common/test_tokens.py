"""Tokens: asymmetric keys from a JWKS in production, HS256 only in dev, claims and lifetime."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.cli import app as cli
from services.common.auth import keys as token_keys
from services.common.auth import tokens as tokens_module
from services.common.auth.callers import TokenService
from services.common.auth.keys import TokenConfigError
from services.common.errors import Unauthorized
from services.common.settings import Settings
from tests.unit.common.support_kit import build


def now() -> dt.datetime:
    """Read when a token is minted: a suite can run longer than a token's lifetime."""
    return dt.datetime.now(dt.UTC)


def claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "sub": "u-1",
        "tenant": "practice-a",
        "roles": ["compliance"],
        "iss": "careledger",
        "aud": "careledger",
        "iat": now(),
        "exp": now() + dt.timedelta(hours=1),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    return {**token_keys.public_jwk(key.public_key()), "kid": kid}


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ed": ed25519.Ed25519PrivateKey.generate(),
        "stranger": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


@pytest.fixture()
def jwks_file(tmp_path: Path, keys: dict[str, Any]) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(
        json.dumps({"keys": [public_jwk(keys["rsa"], "rsa-1"), public_jwk(keys["ed"], "ed-1")]})
    )
    return path


def production(jwks: str, **extra: Any) -> Settings:
    return Settings(env="prod", jwt_jwks=jwks, **extra)


def test_outside_dev_a_service_without_a_jwks_refuses_to_start() -> None:
    with pytest.raises(TokenConfigError, match="CARELEDGER_JWT_JWKS"):
        TokenService(Settings(env="prod"))
    with pytest.raises(TokenConfigError, match="JWKS"):
        TokenService(production("/nonexistent/jwks.json"))


def test_rs256_and_eddsa_tokens_from_the_jwks_are_accepted_over_http(
    jwks_file: Path, keys: dict[str, Any]
) -> None:
    app, _ = build(production(str(jwks_file)))
    client = TestClient(app, raise_server_exceptions=False)
    for key, kid, algorithm in ((keys["rsa"], "rsa-1", "RS256"), (keys["ed"], "ed-1", "EdDSA")):
        token = jwt.encode(claims(), key, algorithm=algorithm, headers={"kid": kid})
        answer = client.get("/numbers", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, (algorithm, answer.text)


@pytest.mark.parametrize(
    ("why", "mint"),
    [
        ("hs256 outside dev", lambda k: jwt.encode(claims(), "x" * 40, algorithm="HS256")),
        (
            "unknown key",
            lambda k: jwt.encode(
                claims(), k["stranger"], algorithm="RS256", headers={"kid": "rsa-1"}
            ),
        ),
        (
            "unknown kid",
            lambda k: jwt.encode(claims(), k["rsa"], algorithm="RS256", headers={"kid": "nope"}),
        ),
        (
            "key of another type",
            lambda k: jwt.encode(claims(), k["rsa"], algorithm="RS256", headers={"kid": "ed-1"}),
        ),
        (
            "no iat",
            lambda k: jwt.encode(
                claims(iat=None), k["rsa"], algorithm="RS256", headers={"kid": "rsa-1"}
            ),
        ),
        (
            "iat ahead",
            lambda k: jwt.encode(
                claims(iat=now() + dt.timedelta(minutes=5)),
                k["rsa"],
                algorithm="RS256",
                headers={"kid": "rsa-1"},
            ),
        ),
        (
            "lives a year",
            lambda k: jwt.encode(
                claims(exp=now() + dt.timedelta(days=365)),
                k["rsa"],
                algorithm="RS256",
                headers={"kid": "rsa-1"},
            ),
        ),
        (
            "another audience",
            lambda k: jwt.encode(
                claims(aud="billing"), k["rsa"], algorithm="RS256", headers={"kid": "rsa-1"}
            ),
        ),
        ("unsigned", lambda k: jwt.encode(claims(), None, algorithm="none")),
    ],
)
def test_tokens_a_production_service_must_refuse_are_a_401(
    jwks_file: Path, keys: dict[str, Any], why: str, mint: Any
) -> None:
    tokens = TokenService(production(str(jwks_file)))
    with pytest.raises(Unauthorized):
        tokens.verify(mint(keys))


def test_the_lifetime_cap_is_configurable(jwks_file: Path, keys: dict[str, Any]) -> None:
    token = jwt.encode(
        claims(exp=now() + dt.timedelta(hours=2)),
        keys["rsa"],
        algorithm="RS256",
        headers={"kid": "rsa-1"},
    )
    assert TokenService(production(str(jwks_file))).verify(token)["sub"] == "u-1"
    with pytest.raises(Unauthorized, match="lives"):
        TokenService(production(str(jwks_file), token_max_lifetime_seconds=3600)).verify(token)


def test_each_service_takes_only_tokens_for_its_own_audience(
    jwks_file: Path, keys: dict[str, Any]
) -> None:
    settings = production(str(jwks_file), jwt_audiences={"plan": "https://plan.example"})
    token = jwt.encode(
        claims(aud="https://plan.example"), keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"}
    )
    assert TokenService(settings, service="plan").verify(token)["sub"] == "u-1"
    with pytest.raises(Unauthorized):
        TokenService(settings, service="consent").verify(token)  # default audience


def test_a_dev_token_names_every_audience_and_is_accepted_by_every_service() -> None:
    settings = Settings(env="dev", jwt_audiences={"plan": "aud-plan", "consent": "aud-consent"})
    token = TokenService(settings).mint("u", "practice-a", ["clinician"])
    for service in ("plan", "consent", "referral"):
        assert TokenService(settings, service=service).verify(token)["sub"] == "u"


def test_tokens_are_minted_only_in_dev_and_never_longer_than_the_cap(jwks_file: Path) -> None:
    with pytest.raises(ValueError, match="CARELEDGER_ENV=dev"):
        TokenService(production(str(jwks_file))).mint("u", "t", ["clinician"])
    with pytest.raises(ValueError, match="at most"):
        TokenService(Settings(env="dev")).mint("u", "t", ["clinician"], ttl_seconds=13 * 3600)


def test_careledger_token_mints_a_token_the_dev_services_accept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CARELEDGER_ENV", raising=False)
    result = CliRunner().invoke(cli, ["token", "--role", "coordinator", "--tenant", "p1"])
    assert result.exit_code == 0, result.output
    claims_seen = TokenService(Settings(env="dev"), service="referral").verify(
        result.output.strip()
    )
    assert (claims_seen["tenant"], claims_seen["roles"]) == ("p1", ["coordinator"])


@pytest.fixture()
def jwks_url(keys: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A JWKS served over loopback HTTP; the list is what it serves (change it to rotate)."""
    served: list[dict[str, Any]] = [public_jwk(keys["rsa"], "rsa-1")]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"keys": served}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", served
    server.shutdown()


def test_keys_come_from_a_jwks_url_and_a_rotated_key_is_picked_up(
    jwks_url: tuple[str, list[dict[str, Any]]],
    keys: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, served = jwks_url
    tokens = TokenService(production(url))
    first = jwt.encode(claims(), keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})
    assert tokens.verify(first)["sub"] == "u-1"
    served.append(public_jwk(keys["ed"], "ed-2"))  # the issuer rotates in a new key
    rotated = jwt.encode(claims(sub="u-2"), keys["ed"], algorithm="EdDSA", headers={"kid": "ed-2"})
    monkeypatch.setattr("services.common.auth.tokens.UNKNOWN_KID_REFRESH_S", 0)
    assert tokens.verify(rotated)["sub"] == "u-2"


def test_a_key_taken_out_of_the_jwks_file_stops_its_cached_tokens_within_a_minute(
    jwks_file: Path, keys: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = TokenService(production(str(jwks_file)))
    token = jwt.encode(claims(), keys["ed"], algorithm="EdDSA", headers={"kid": "ed-1"})
    assert tokens.verify(token)["sub"] == "u-1"
    jwks_file.write_text(json.dumps({"keys": [public_jwk(keys["rsa"], "rsa-1")]}))  # rotated
    assert tokens.verify(token)["sub"] == "u-1"  # remembered, for now
    later = time.time() + tokens_module.RECHECK_S + 1
    monkeypatch.setattr(tokens_module.time, "time", lambda: later)
    monkeypatch.setattr(tokens_module.time, "monotonic", lambda: later)
    with pytest.raises(Unauthorized, match="does not know"):
        tokens.verify(token)
