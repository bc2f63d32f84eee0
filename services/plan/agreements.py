"""The couple's information-sharing agreement in force, as the consent service holds it.

An individual session inside couples work is recorded only under an agreement both partners
have signed. The plan service asks the consent service (`GET /agreements?partner_id=..`) at the
moment the session is recorded, the way it asks for decisions: with its own service credential,
naming the clinician who records the session in `X-On-Behalf-Of` and carrying the command's
correlation id (services/common/auth/service_identity.py); it never forwards the caller's token. A
read model fed from `careledger.consent` could lag a signature given a minute ago. No
agreement, or one not yet signed by both, is a 409 naming what is missing; a consent service
that does not answer is a 503 (no session is recorded on a guess).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import httpx

from services.common.access.consent_gate import asking_headers
from services.common.auth.service_identity import ServiceCredential
from services.common.errors import Forbidden, Unavailable
from services.common.ids import canonical_id
from services.plan.domain.sharing import AgreementInForce, in_force_of, missing


class AgreementCheck(Protocol):
    def in_force(
        self,
        tenant: str,
        partner_ids: Sequence[str],
        *,
        on_behalf_of: str,
        correlation_id: str | None = None,
    ) -> AgreementInForce: ...


class InMemoryAgreements:
    """Agreement views by couple, for unit tests; an application without one has none."""

    def __init__(self) -> None:
        self.views: dict[tuple[str, frozenset[str]], dict[str, Any]] = {}

    def put(self, tenant: str, view: Mapping[str, Any]) -> None:
        key = frozenset(canonical_id(str(p)) for p in view["partner_ids"])
        self.views[(tenant, key)] = dict(view)

    def in_force(
        self,
        tenant: str,
        partner_ids: Sequence[str],
        *,
        on_behalf_of: str,
        correlation_id: str | None = None,
    ) -> AgreementInForce:
        view = self.views.get((tenant, frozenset(canonical_id(p) for p in partner_ids)))
        if view is None:
            raise missing(partner_ids)
        return in_force_of(view, partner_ids)


class HttpAgreementCheck:
    """Asks the consent service over HTTP as the plan service, on the end caller's behalf."""

    def __init__(
        self,
        consent_url: Callable[[], str],
        credential: ServiceCredential,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = consent_url
        self._credential = credential
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def in_force(
        self,
        tenant: str,
        partner_ids: Sequence[str],
        *,
        on_behalf_of: str,
        correlation_id: str | None = None,
    ) -> AgreementInForce:
        base = self._url()
        if not base:
            raise Unavailable("the consent service is not configured: no session was recorded")
        token = self._credential.token_for(tenant)
        headers = asking_headers(token, on_behalf_of, correlation_id)
        params = {"partner_id": list(partner_ids)}
        try:
            response = self._client.get(
                f"{base.rstrip('/')}/agreements", params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            raise Unavailable("the consent service did not answer; retry shortly") from exc
        if response.status_code == 404:
            raise missing(partner_ids)
        if response.status_code in (401, 403):
            raise Forbidden(
                f"the consent service refused the plan service's question "
                f"({response.status_code}): no session was recorded"
            )
        if response.status_code >= 400:
            raise Unavailable(f"the consent service answered {response.status_code}; retry")
        try:
            view = response.json()
        except ValueError as exc:
            raise Unavailable("the consent service answered with invalid JSON") from exc
        if not isinstance(view, dict):
            raise Unavailable("the consent service answered without an agreement")
        return in_force_of(view, partner_ids)

    def close(self) -> None:
        self._client.close()
