"""A service's own key: `careledger keys new`, its credential, and what a service key may sign."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from services.cli import app as cli
from services.common.auth.callers import TokenService
from services.common.auth.keys import KeySigner, SecretSigner, TokenConfigError, new_key
from services.common.auth.service_identity import service_credential, service_signer
from services.common.auth.tokens import claim_set
from services.common.errors import Unauthorized
from services.common.settings import Settings


@pytest.fixture()
def keys(tmp_path: Path) -> Path:
    """`careledger keys new plan` and `careledger keys new issuer` in one folder."""
    for name in ("plan", "issuer"):
        made = CliRunner().invoke(cli, ["keys", "new", name, "--dir", str(tmp_path)])
        assert made.exit_code == 0, made.output
    return tmp_path


def production(keys: Path, **extra: object) -> Settings:
    return Settings(env="prod", jwt_jwks=str(keys / "jwks.json"), **extra)  # type: ignore[arg-type]


def test_keys_new_writes_a_private_pem_only_its_owner_reads_and_a_jwks_of_public_keys(
    keys: Path,
) -> None:
    assert stat.S_IMODE((keys / "plan.pem").stat().st_mode) == 0o600
    published = json.loads((keys / "jwks.json").read_text())["keys"]
    assert [(k["kty"], k["crv"], k["alg"]) for k in published] == [("OKP", "Ed25519", "EdDSA")] * 2
    assert all("d" not in k for k in published)
    assert published[0]["kid"].startswith("service:plan#")
    assert published[1]["kid"].startswith("issuer#")
    again = CliRunner().invoke(cli, ["keys", "new", "plan", "--dir", str(keys)])
    assert again.exit_code != 0 and "--replace" in again.output


def test_a_replaced_key_is_published_beside_the_old_one(keys: Path) -> None:
    old = KeySigner.from_file(keys / "plan.pem", "plan")
    new = new_key(keys, "plan", keys / "jwks.json", replace=True)
    kids = [k["kid"] for k in json.loads((keys / "jwks.json").read_text())["keys"]]
    assert old.kid != new.kid and {old.kid, new.kid} <= set(kids)


def test_in_production_the_plan_service_signs_with_its_own_key_and_consent_accepts_it(
    keys: Path,
) -> None:
    settings = production(
        keys,
        service_key_file=str(keys / "plan.pem"),
        jwt_audiences={"consent": "https://consent.example"},
    )
    token = service_credential(settings, "plan", calls="consent").token_for("practice-a")
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    claims = TokenService(settings, service="consent").verify(token)
    assert (claims["sub"], claims["roles"], claims["scope"]) == (
        "service:plan",
        ["integration"],
        "system/Consent.r",
    )
    with pytest.raises(Unauthorized, match=r"(?i)audience"):  # meant for consent, not for plan
        TokenService(settings, service="plan").verify(token)


def test_a_service_key_cannot_speak_for_a_person(keys: Path) -> None:
    plan_key = KeySigner.from_file(keys / "plan.pem", "plan")
    verifier = TokenService(production(keys))
    for sub, roles in (
        ("c-1", ["clinician"]),
        ("service:plan", ["admin"]),
        ("service:consent", ["integration"]),
    ):
        forged = plan_key.sign(
            claim_set(
                sub, "practice-a", roles, issuer="careledger", audience="careledger", ttl_seconds=60
            )
        )
        with pytest.raises(Unauthorized, match="only as that service"):
            verifier.verify(forged)


def test_an_issuers_key_signs_callers_tokens_and_hs256_is_refused_outside_dev(keys: Path) -> None:
    verifier = TokenService(production(keys))
    minted = CliRunner().invoke(
        cli, ["token", "--role", "clinician", "--sub", "c-1", "--key", str(keys / "issuer.pem")]
    )
    assert minted.exit_code == 0, minted.output
    assert verifier.verify(minted.output.strip())["sub"] == "c-1"
    hs256 = TokenService(Settings(env="dev")).mint("c-1", "practice-a", ["clinician"])
    with pytest.raises(Unauthorized, match="HS256"):
        verifier.verify(hs256)


def test_the_signer_is_the_shared_secret_in_dev_and_a_key_file_in_production(keys: Path) -> None:
    assert isinstance(service_signer(Settings(env="dev"), "plan"), SecretSigner)
    with pytest.raises(TokenConfigError, match="CARELEDGER_SERVICE_KEY_FILE"):
        service_signer(production(keys), "plan")
    with pytest.raises(TokenConfigError, match="cannot read"):
        service_signer(production(keys, service_key_file=str(keys / "jwks.json")), "plan")
