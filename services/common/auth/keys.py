"""Signing keys: what a token is signed with, and the JWKS that publishes the public halves.

In production a service that asks another (the plan service asking the consent service) signs a
short-lived token of its own with its own private key, the way a SMART Backend Services client
signs its assertion: Ed25519 (or RSA) in the PEM file `CARELEDGER_SERVICE_KEY_FILE`, the
token's `kid` naming the key. The called service trusts it because the public key is in the
JWKS it verifies with (`CARELEDGER_JWT_JWKS`). A service key's `kid` is
`service:<name>#<thumbprint>`, and a token signed with it is accepted only as that service
(tokens.py). In development (`CARELEDGER_ENV=dev`) tokens are HS256 with the shared secret.
`careledger keys new` makes a key pair and adds its public half to a JWKS file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from services.common.settings import SERVICES

SERVICE_PREFIX = "service:"  # the `sub` of a service's own token, and its key's `kid`
DEV_ALGORITHM = "HS256"
KEY_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}  # RFC 7638


class TokenConfigError(ValueError):
    """The process cannot sign or verify tokens as configured (it must not start)."""


class Signer(Protocol):
    """Signs a claim set into a compact JWT."""

    algorithm: str

    def sign(self, claims: dict[str, Any]) -> str: ...


class SecretSigner:
    """HS256 with the shared development secret (accepted only with CARELEDGER_ENV=dev)."""

    algorithm = DEV_ALGORITHM

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._secret, algorithm=self.algorithm)


class KeySigner:
    """EdDSA (Ed25519) or RS256 with one private key; the header's `kid` names it."""

    def __init__(self, key: Ed25519PrivateKey | RSAPrivateKey, name: str) -> None:
        self._key = key
        self.algorithm = "EdDSA" if isinstance(key, Ed25519PrivateKey) else "RS256"
        self.public_jwk = public_jwk(key.public_key())
        self.kid = key_id(name, self.public_jwk)
        self.public_jwk.update(kid=self.kid, alg=self.algorithm, use="sig")

    @classmethod
    def from_file(cls, path: str | Path, name: str) -> KeySigner:
        """The key in a PEM file (PKCS#8, unencrypted) for `name` (a service or an issuer)."""
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise TokenConfigError(f"cannot read the private key {path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey | RSAPrivateKey):
            raise TokenConfigError(f"{path} holds no Ed25519 or RSA private key")
        return cls(key, name)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm=self.algorithm, headers={"kid": self.kid})


def public_jwk(key: Ed25519PublicKey | RSAPublicKey) -> dict[str, Any]:
    if isinstance(key, Ed25519PublicKey):
        return dict(OKPAlgorithm.to_jwk(key, as_dict=True))
    return dict(RSAAlgorithm.to_jwk(key, as_dict=True))


def key_id(name: str, jwk: dict[str, Any]) -> str:
    """`service:<name>#<thumbprint>` for a service's key, `<name>#<thumbprint>` for others."""
    members = {k: jwk[k] for k in THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode())
    thumbprint = base64.urlsafe_b64encode(digest.digest()[:12]).decode().rstrip("=")
    label = f"{SERVICE_PREFIX}{name}" if name in SERVICES else name
    return f"{label}#{thumbprint}"


def service_of_key(kid: str | None) -> str | None:
    """The subject a service key may sign for (`service:plan`), None for any other key."""
    if kid is None or not kid.startswith(SERVICE_PREFIX):
        return None
    return kid.partition("#")[0]


def new_key(directory: Path, name: str, jwks_file: Path, *, replace: bool = False) -> KeySigner:
    """A new Ed25519 key in `<directory>/<name>.pem` (mode 0600), its public JWK in `jwks_file`.

    The JWKS keeps the keys it had (a rotated key's tokens stay valid until they expire); a key
    is removed from it by hand once nothing signs with it.
    """
    if not KEY_NAME.fullmatch(name):
        raise TokenConfigError("a key's name is a service (plan, consent, referral) or [a-z0-9-]")
    pem_path = directory / f"{name}.pem"
    if pem_path.exists() and not replace:
        raise TokenConfigError(f"{pem_path} exists: pass --replace to make a new key in its place")
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem_path.unlink(missing_ok=True)
    descriptor = os.open(pem_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    signer = KeySigner(key, name)
    keys = json.loads(jwks_file.read_text())["keys"] if jwks_file.exists() else []
    keys = [k for k in keys if k.get("kid") != signer.kid] + [signer.public_jwk]
    written = jwks_file.with_name(f".{jwks_file.name}.new")
    written.write_text(json.dumps({"keys": keys}, indent=2) + "\n")
    written.replace(jwks_file)  # a service reading the file never sees half of it
    return signer
