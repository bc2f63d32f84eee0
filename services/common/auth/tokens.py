"""Bearer tokens: verification (keys, algorithms, claims, lifetime) and development tokens.

Production verifies RS256 or EdDSA signatures with the public keys of a JWKS, from a file or an
HTTPS URL (`CARELEDGER_JWT_JWKS`); HS256 with a shared secret is accepted only with
`CARELEDGER_ENV=dev`, where `careledger token` mints such tokens. Every token must carry `sub`,
`tenant`, `roles`, `iat` and `exp`, be meant for this service (`aud`: `CARELEDGER_JWT_AUDIENCE`,
or the service's entry in `CARELEDGER_JWT_AUDIENCES`), come from the configured issuer and live
at most `CARELEDGER_TOKEN_MAX_LIFETIME_SECONDS` (12 h). Anything else is a 401.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import jwt

from services.common.auth.keys import (
    DEV_ALGORITHM,
    SecretSigner,
    Signer,
    TokenConfigError,
    service_of_key,
)
from services.common.errors import Unauthorized
from services.common.settings import Settings
from services.common.validation import text_problem

ASYMMETRIC = {"RS256": "RSA", "EdDSA": "OKP"}  # algorithm -> JWK key type
MAX_CLAIM_CHARS = 200
LEEWAY_S = 30  # an `iat` this far ahead is the issuer's clock, not a token from the future
REFRESH_S = 300  # a JWKS URL is read again this often
UNKNOWN_KID_REFRESH_S = 30  # and at most this often when a token names an unknown key
FILE_RECHECK_S = 5  # a JWKS file's modification time is looked at this often
RECHECK_S = 60  # a verified token is checked again (signature, key still known) this often


class Jwks:
    """Public keys by key id, from a JWKS file (read again when it changes) or an HTTPS URL."""

    def __init__(self, source: str, *, timeout_s: float = 5.0) -> None:
        self.source = source
        self._url = source.startswith(("https://", "http://"))
        self._timeout_s = timeout_s
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._loaded_at = 0.0
        self._version: object = None
        self._lock = threading.Lock()
        self._load()
        if not self._keys:
            raise TokenConfigError(f"the JWKS at {source} holds no RS256 or EdDSA public key")

    def key(self, kid: str | None, algorithm: str) -> jwt.PyJWK:
        """The key `kid` names (or the only key, when the token names none) for `algorithm`."""
        with self._lock:
            stale = time.monotonic() - self._loaded_at
            if stale > (REFRESH_S if self._url else FILE_RECHECK_S) or (
                kid not in self._keys and stale > UNKNOWN_KID_REFRESH_S
            ):
                self._load()
            key = self._keys.get(kid) if kid is not None else self._only()
        if key is None:
            raise Unauthorized("the bearer token is signed with a key this service does not know")
        if ASYMMETRIC.get(algorithm) != key.key_type:
            raise Unauthorized(f"the bearer token's key does not sign {algorithm}")
        return key

    def _only(self) -> jwt.PyJWK | None:
        keys = list(self._keys.values())
        return keys[0] if len(keys) == 1 else None

    def _load(self) -> None:
        self._loaded_at = time.monotonic()
        try:
            if self._url:
                document = httpx.get(self.source, timeout=self._timeout_s).raise_for_status().json()
            else:
                path = Path(self.source)
                version = path.stat().st_mtime_ns
                if version == self._version:
                    return
                document, self._version = json.loads(path.read_text()), version
        except (OSError, ValueError, httpx.HTTPError) as exc:
            if not self._keys:
                raise TokenConfigError(f"cannot read the JWKS at {self.source}: {exc}") from exc
            return  # keep the keys we have; the next refresh tries again
        keys: dict[str | None, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            if entry.get("kty") not in ASYMMETRIC.values() or "d" in entry:
                continue  # only public keys of the accepted types
            try:
                keys[entry.get("kid")] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue
        if keys:
            self._keys = keys


def audiences(settings: Settings) -> list[str]:
    """Every audience a service of this deployment accepts."""
    return sorted({settings.jwt_audience, *settings.jwt_audiences.values()})


def audience_of(settings: Settings, service: str | None) -> str:
    """The `aud` the service `service` accepts."""
    return settings.jwt_audiences.get(service or "", settings.jwt_audience)


def claim_set(
    sub: str,
    tenant: str,
    roles: Iterable[str],
    *,
    issuer: str,
    audience: str | list[str],
    ttl_seconds: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The claims of a token issued now for `ttl_seconds`."""
    now = dt.datetime.now(dt.UTC)
    return {
        **(extra or {}),
        "sub": sub,
        "tenant": tenant,
        "roles": sorted(set(roles)),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl_seconds),
    }


class TokenVerifier:
    """Verifies bearer tokens for one service (`service` None: the default audience).

    A token signed with a service's own key (`kid` `service:<name>#...`) is accepted only as
    that service (`sub` `service:<name>`) with `service_roles`: a service's key cannot speak for
    a person.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        roles: Iterable[str],
        service: str | None = None,
        service_roles: Iterable[str] = (),
    ) -> None:
        self.roles = frozenset(roles)
        self._service_roles = frozenset(service_roles)
        self._settings = settings
        self._dev = settings.env == "dev"
        self._issuer = settings.jwt_issuer
        self._audience = audience_of(settings, service)
        self._max_lifetime = settings.token_max_lifetime_seconds
        self._secret = settings.jwt_secret
        if self._dev and len(self._secret) < 32:
            raise TokenConfigError("CARELEDGER_JWT_SECRET must be at least 32 characters")
        self._jwks = Jwks(settings.jwt_jwks) if settings.jwt_jwks else None
        if self._jwks is None and not self._dev:
            raise TokenConfigError(
                "set CARELEDGER_JWT_JWKS to the issuer's public keys (a JWKS file or URL): "
                "outside CARELEDGER_ENV=dev only RS256 and EdDSA tokens are accepted"
            )
        self._verified: dict[str, tuple[dict[str, Any], float]] = {}  # -> claims, good until
        self._cache_size = 4096

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; 401 when it is forged, expired, too long-lived or lacks a claim.

        A verified token is remembered for up to a minute (never past its expiry): a client
        sends the same token with every request, and checking the signature again each time
        costs more than the command.
        """
        cached = self._verified.get(token)
        now = time.time()
        if cached is not None and cached[1] > now:
            return cached[0]
        claims = self._verify(token)
        if len(self._verified) >= self._cache_size:
            self._verified.clear()  # crude but bounded; a full cache refills in a few requests
        # Until it expires, but checked again within a minute: a key taken out of the JWKS
        # (rotated after a compromise) stops its tokens then, not hours later.
        self._verified[token] = (claims, min(float(claims["exp"]), now + RECHECK_S))
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            algorithm = str(header.get("alg"))
            key = self._key(algorithm, header.get("kid"))
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "tenant", "roles", "iat", "exp"], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the bearer token has expired: get a new one") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the bearer token is not valid: {exc}") from None
        issued = claims["iat"]
        if not isinstance(issued, int | float) or issued > time.time() + LEEWAY_S:
            raise Unauthorized("the bearer token's `iat` must be a time that has come")
        lifetime = claims["exp"] - issued
        if lifetime > self._max_lifetime:
            raise Unauthorized(
                f"the bearer token lives {int(lifetime)} s, over the {self._max_lifetime} s "
                "this service accepts: get a shorter-lived one"
            )
        self.check_claims(claims)
        if algorithm in ASYMMETRIC:
            self._check_service_key(header.get("kid"), claims)
        return claims

    def _check_service_key(self, kid: Any, claims: dict[str, Any]) -> None:
        speaks_for = service_of_key(kid if isinstance(kid, str) else None)
        if speaks_for is None:
            return
        if claims["sub"] != speaks_for or not set(claims["roles"]) <= self._service_roles:
            raise Unauthorized(
                f"a token signed with the key of {speaks_for} is accepted only as that service "
                f"(`sub` {speaks_for}, roles {', '.join(sorted(self._service_roles)) or 'none'})"
            )

    def _key(self, algorithm: str, kid: Any) -> Any:
        if algorithm in ASYMMETRIC and self._jwks is not None:
            return self._jwks.key(kid if isinstance(kid, str) else None, algorithm).key
        if algorithm == DEV_ALGORITHM and self._dev:
            return self._secret
        accepted = [*(ASYMMETRIC if self._jwks else ()), *([DEV_ALGORITHM] if self._dev else [])]
        raise Unauthorized(
            f"the bearer token is signed with {algorithm}; accepted: {', '.join(accepted)}"
        )

    def check_claims(self, claims: dict[str, Any]) -> None:
        """401 unless `sub` and `tenant` are ids the stores can hold and `roles` are known."""
        for name in ("sub", "tenant"):
            value = claims.get(name)
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_CLAIM_CHARS:
                raise Unauthorized(f"the bearer token's `{name}` must be text of 1-200 characters")
            if why := text_problem(value):
                raise Unauthorized(f"the bearer token's `{name}` {why}")
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise Unauthorized("the bearer token's `roles` must be a list of role names")
        if unknown := set(roles) - self.roles:
            raise Unauthorized(
                f"the bearer token names {len(unknown)} unknown role(s); "
                f"roles are {', '.join(sorted(self.roles))}"
            )

    def mint(
        self,
        sub: str,
        tenant: str,
        roles: Iterable[str],
        ttl_seconds: int | None = None,
        *,
        extra: dict[str, Any] | None = None,
        signer: Signer | None = None,
    ) -> str:
        """A token for every service's audience: signed with `signer` (a key of the JWKS), or a
        development token (HS256 with the shared secret, only with CARELEDGER_ENV=dev)."""
        if signer is None and not self._dev:
            raise ValueError(
                "HS256 tokens are minted only with CARELEDGER_ENV=dev; sign with a key of the "
                "JWKS instead (careledger token --key)"
            )
        unknown = sorted(set(roles) - self.roles)
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; roles are {sorted(self.roles)}")
        ttl = ttl_seconds or self._settings.token_ttl_seconds
        if ttl > self._max_lifetime:
            raise ValueError(f"a token lives at most {self._max_lifetime} s; ask for less")
        claims = claim_set(
            sub,
            tenant,
            roles,
            issuer=self._issuer,
            audience=audiences(self._settings),
            ttl_seconds=ttl,
            extra=extra,
        )
        return (signer or SecretSigner(self._secret)).sign(claims)
