"""Composition root of the plan service: its application and its API (spec.py: the rest)."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.access.consent_gate import ConsentGate, HttpConsentGate, consent_gate_of
from services.common.access.reads import PostgresAccessLog
from services.common.auth.service_identity import ServiceCredential, service_credential
from services.common.http.access import install_access_log
from services.common.http.app import create_service_app
from services.common.http.idempotency import IdempotencyStore, postgres_idempotency
from services.common.readmodels.readstore import ReadStore
from services.common.settings import Settings
from services.common.store.application import build_application
from services.plan.agreements import HttpAgreementCheck
from services.plan.api import build_router
from services.plan.application import PlanApplication
from services.plan.projections import PostgresSummaries
from services.plan.reads import PlanReads

SERVICE = "plan"
DESCRIPTION = (
    "Treatment plans for couples, families and individuals: goals, measurements, sessions, "
    "format shifts, reviews and their history; FHIR R4 CarePlan and Goal views for EHRs. "
    "Send `X-Acting-For: <client id>` when acting for one client of the unit."
)


def build_plans(
    settings: Settings | None,
    *,
    application_class: type[PlanApplication] = PlanApplication,
    create_table: bool = False,
    credential: ServiceCredential | None = None,
) -> PlanApplication:
    """The application on PostgreSQL (settings) or in memory (None).

    On PostgreSQL its worklists and lookups read the `plan_summaries` projection in the
    application's own schema (`application_class.name`), and agreements are the consent
    service's (`settings.consent_url` or the stack's service URLs), asked with the plan
    service's own credential (`credential`, by default one minted with the settings' key).
    """
    app: PlanApplication = build_application(application_class, settings, create_table=create_table)
    if settings is not None:
        store = ReadStore.from_settings(settings)
        app.read_model = PostgresSummaries(app, store, schema=application_class.name)
        app.access_log = PostgresAccessLog(app, store, schema=application_class.name)
        consent = settings.consent_url or settings.service_urls.get("consent", "")
        asking = credential or service_credential(settings, SERVICE, calls="consent")
        app.agreements = HttpAgreementCheck(lambda: consent, asking)
    return app


def close_plans(app: PlanApplication) -> None:
    """Close the read model's pool and the agreement check's client (if any) and the store."""
    if isinstance(app.read_model, PostgresSummaries):
        app.read_model.close()  # the access log shares its pool
    if isinstance(app.agreements, HttpAgreementCheck):
        app.agreements.close()
    app.close()


def create_app(
    settings: Settings,
    application: PlanApplication | None = None,
    *,
    idempotency: IdempotencyStore | None = None,
    gate: ConsentGate | None = None,
) -> FastAPI:
    """The plan API on PostgreSQL (from settings), or on the application given (tests).

    Reads ask the consent service (`gate`, default the configured CARELEDGER_CONSENT_URL)
    before one partner's individual material reaches the other side, with the plan service's
    own credential (services/common/auth/service_identity.py), naming the reader.
    """
    if application is None and idempotency is None:
        idempotency = postgres_idempotency(settings, SERVICE)
    gate = gate or consent_gate_of(settings)
    api = create_service_app(
        SERVICE, settings, [], description=DESCRIPTION, idempotency=idempotency
    )
    credential = service_credential(settings, SERVICE, calls="consent")
    plans = application or build_plans(settings, credential=credential)
    reads = PlanReads(plans, install_access_log(api, "plan", plans), gate, credential)
    api.state.application, api.state.reads = plans, reads
    api.include_router(build_router(reads))
    if application is None:
        api.router.on_shutdown.append(lambda: close_plans(plans))
    if isinstance(gate, HttpConsentGate):
        api.router.on_shutdown.append(gate.close)
    return api
