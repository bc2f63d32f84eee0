"""A service's own identity, for the questions it asks another service on a caller's behalf.

The plan service asks the consent service whether one partner's individual material may be
shown to the reader. It calls with its own credential and names the end caller in
`X-On-Behalf-Of`; it never forwards the reader's token (a client's token may not ask for consent
decisions, and a forwarded token would let the called service act as that caller elsewhere).

A service credential is a bearer token like any other (services/common/auth/callers.py): role
`integration`, `sub` `service:<name>`, the SMART scope `system/Consent.r`, one per practice,
for the called service's audience. `ServiceCredential` signs it and renews it before it expires.
In production the service signs with its own private key (`CARELEDGER_SERVICE_KEY_FILE`,
Ed25519, its `kid` naming the key; services/common/auth/keys.py), the shape of SMART Backend
Services' client credentials: the called service trusts it because the public key is in the
JWKS it verifies with, and accepts a token so signed only as that service. In development
(`CARELEDGER_ENV=dev`) it is HS256 with the shared secret, like `careledger token`. The
answering side (`end_caller`) admits a named end caller only from such a token: a person's own
token cannot claim to act for somebody else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from services.common.auth.callers import Caller, Role
from services.common.auth.keys import (
    SERVICE_PREFIX,
    KeySigner,
    SecretSigner,
    Signer,
    TokenConfigError,
)
from services.common.auth.tokens import audience_of, claim_set
from services.common.errors import Forbidden
from services.common.settings import Settings

SERVICE_ROLE = Role.INTEGRATION
CONSENT_SCOPE = "system/Consent.r"  # read the consents a decision is made from
ON_BEHALF_OF = "X-On-Behalf-Of"
TOKEN_SECONDS = 300


def service_subject(service: str) -> str:
    return f"{SERVICE_PREFIX}{service}"


class ServiceCredential:
    """The bearer token a service presents for one practice, minted once and renewed early."""

    def __init__(
        self,
        service: str,
        signer: Signer,
        *,
        issuer: str,
        audience: str,
        scope: str = CONSENT_SCOPE,
        ttl_seconds: int = TOKEN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.subject = service_subject(service)
        self._signer = signer
        self._issuer = issuer
        self._audience = audience
        self._scope = scope
        self._ttl = ttl_seconds
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}  # tenant -> (token, renew after)
        self._lock = threading.Lock()

    def token_for(self, tenant: str) -> str:
        now = self._clock()
        with self._lock:
            held = self._held.get(tenant)
            if held is not None and now < held[1]:
                return held[0]
            claims = claim_set(
                self.subject,
                tenant,
                [SERVICE_ROLE.value],
                issuer=self._issuer,
                audience=self._audience,
                ttl_seconds=self._ttl,
                extra={"scope": self._scope},
            )
            token = self._signer.sign(claims)
            self._held[tenant] = (token, now + self._ttl / 2)
            return token


def service_signer(settings: Settings, service: str) -> Signer:
    """What `service` signs its own tokens with: its private key, or in dev the shared secret."""
    if settings.env == "dev":
        return SecretSigner(settings.jwt_secret)
    if not settings.service_key_file:
        raise TokenConfigError(
            f"set CARELEDGER_SERVICE_KEY_FILE to the {service} service's private key (PEM; "
            f"`careledger keys new {service}` makes one and adds its public key to a JWKS)"
        )
    return KeySigner.from_file(settings.service_key_file, service)


def service_credential(settings: Settings, service: str, *, calls: str) -> ServiceCredential:
    """`service`'s credential for asking the service `calls` (its audience)."""
    return ServiceCredential(
        service,
        service_signer(settings, service),
        issuer=settings.jwt_issuer,
        audience=audience_of(settings, calls),
    )


def is_service(caller: Caller) -> bool:
    """An integration token whose SMART scopes grant reading consents (`system/Consent.r`)."""
    viewer = caller.reader
    return caller.has(SERVICE_ROLE) and bool(viewer.scopes) and viewer.may_read("Consent")


def end_caller(caller: Caller, named: str | None) -> str:
    """Whose question this is: the caller's own, or the end caller a service names (403 else)."""
    if is_service(caller):
        if not named:
            raise Forbidden(
                f"a service asks on a caller's behalf: name the end caller in {ON_BEHALF_OF}"
            )
        return named
    if named is not None:
        raise Forbidden(f"only a service credential may name another caller in {ON_BEHALF_OF}")
    if not caller.has(Role.CLINICIAN, Role.COORDINATOR):
        raise Forbidden(
            f"an integration token asks for decisions only as a service: with the SMART "
            f"scope {CONSENT_SCOPE}, naming the end caller in {ON_BEHALF_OF}"
        )
    return caller.sub
