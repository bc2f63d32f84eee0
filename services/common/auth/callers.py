"""Bearer JWT auth: who the caller is, for which practice, and which roles may call an endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.auth.keys import Signer
from services.common.auth.tokens import MAX_CLAIM_CHARS, TokenVerifier
from services.common.context import CommandContext, new_id
from services.common.errors import Forbidden, RuleBroken, Unauthorized
from services.common.settings import Settings
from services.common.validation import text_problem
from services.common.viewer import DEFAULT_PURPOSE, PURPOSES_OF_USE, Viewer


class Role(StrEnum):
    CLINICIAN = "clinician"
    COORDINATOR = "coordinator"
    COMPLIANCE = "compliance"
    INTEGRATION = "integration"
    ADMIN = "admin"
    CLIENT = "client"  # a partner or family member (portal, app); the token names its `patient`


ALL_ROLES: tuple[Role, ...] = tuple(Role)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request, and the command context it acts in."""

    sub: str
    tenant: str
    roles: frozenset[str]
    ctx: CommandContext
    viewer: Viewer | None = None

    def has(self, *roles: Role) -> bool:
        return any(role.value in self.roles for role in roles)

    @property
    def reader(self) -> Viewer:
        """The caller as the read policies see it."""
        return self.viewer or Viewer(self.sub, self.tenant, self.roles)


class TokenService(TokenVerifier):
    """Verifies (tokens.py) and, in development, mints the bearer tokens of careledger's roles.

    Following SMART on FHIR v2 where it fits: a client's token has role `client` and the
    `patient` claim (its client id); any token may carry `fhirUser` and a space-separated
    `scope` (`patient/CarePlan.rs`, `user/*.rs`, `system/*.rs`).
    """

    def __init__(self, settings: Settings, *, service: str | None = None) -> None:
        super().__init__(
            settings,
            roles=(r.value for r in Role),
            service=service,
            service_roles=[Role.INTEGRATION.value],
        )

    def mint(
        self,
        sub: str,
        tenant: str,
        roles: Iterable[str],
        ttl_seconds: int | None = None,
        *,
        patient: str | None = None,
        scope: str | None = None,
        fhir_user: str | None = None,
        extra: dict[str, Any] | None = None,
        signer: Signer | None = None,
    ) -> str:
        roles = list(roles)
        if (Role.CLIENT.value in roles) != (patient is not None):
            raise ValueError("a client token needs --patient <client id>, and only it may have one")
        if patient is not None and set(roles) != {Role.CLIENT.value}:
            raise ValueError("a client token has the role client only")
        smart = {"patient": patient, "scope": scope, "fhirUser": fhir_user}
        return super().mint(
            sub,
            tenant,
            roles,
            ttl_seconds,
            signer=signer,
            extra={**(extra or {}), **{k: v for k, v in smart.items() if v}},
        )

    def check_claims(self, claims: dict[str, Any]) -> None:
        super().check_claims(claims)
        check_smart_claims(claims)


def check_smart_claims(claims: dict[str, Any]) -> None:
    """401 unless a client token (role `client` alone) names its `patient`, and only it does."""
    patient = claims.get("patient")
    is_client = Role.CLIENT.value in claims["roles"]
    if is_client:
        if not isinstance(patient, str) or not 1 <= len(patient) <= MAX_CLAIM_CHARS:
            raise Unauthorized("a client token needs a `patient` claim naming the client id")
        if text_problem(patient):
            raise Unauthorized(f"the bearer token's `patient` {text_problem(patient)}")
    if is_client and len(claims["roles"]) != 1:
        raise Unauthorized("a client token has the role `client` only")
    if not is_client and patient is not None:
        raise Unauthorized("only a client token may carry a `patient` claim")
    scope = claims.get("scope", "")
    if not isinstance(scope, str) or len(scope) > 10 * MAX_CLAIM_CHARS or text_problem(scope):
        raise Unauthorized("`scope` is a space-separated string of SMART scopes")


_bearer = HTTPBearer(auto_error=False)


def purpose_of_use(request: Request) -> str:
    """`X-Purpose-Of-Use` (an HL7 PurposeOfUse code), TREAT when absent; 422 when unknown."""
    declared = request.headers.get("x-purpose-of-use")
    if declared is None:
        return DEFAULT_PURPOSE
    code = declared.strip().upper()
    if code not in PURPOSES_OF_USE:
        raise RuleBroken(
            "unknown purpose of use",
            {"X-Purpose-Of-Use": f"give one of {', '.join(PURPOSES_OF_USE)}"},
        )
    return code


def allow(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency that authenticates the caller and lets only `roles` through (401/403)."""
    if not roles:
        raise ValueError("allow() needs at least one role")

    async def caller(  # no I/O: async saves a worker-thread hop per request
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        if credentials is None:
            raise Unauthorized("send `Authorization: Bearer <token>`; `careledger token` mints one")
        tokens: TokenService = request.app.state.tokens
        claims = tokens.verify(credentials.credentials)
        granted = [r for r in roles if r.value in claims["roles"]]
        if not granted:
            raise Forbidden(
                f"this endpoint is for {', '.join(r.value for r in roles)}; "
                f"the token has {', '.join(claims['roles']) or 'no roles'}"
            )
        ctx = CommandContext(
            actor_id=str(claims["sub"]),
            actor_role=granted[0].value,
            tenant=claims["tenant"],
            correlation_id=getattr(request.state, "correlation_id", None) or new_id(),
            request_id=getattr(request.state, "request_id", None),
        )
        request.state.tenant = ctx.tenant  # read by the request log
        request.state.actor = ctx.actor_id
        viewer = Viewer(
            sub=str(claims["sub"]),
            tenant=claims["tenant"],
            roles=frozenset(claims["roles"]),
            patient=claims.get("patient"),
            scopes=frozenset(str(claims.get("scope") or "").split()),
            purpose=purpose_of_use(request),
            acting_for=request.headers.get("x-acting-for") or None,
        )
        request.state.viewer = viewer  # read by the access log when a read is refused
        return Caller(claims["sub"], claims["tenant"], frozenset(claims["roles"]), ctx, viewer)

    caller.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]  # read by access tests
    return caller
