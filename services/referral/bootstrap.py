"""Composition root of the referral service: application, consent gate, API, consumer."""

from __future__ import annotations

from services.common.access.consent_gate import ConsentGate, HttpConsentGate, consent_url
from services.common.access.reads import PostgresAccessLog
from services.common.http.service_api import ApplicationApi
from services.common.readmodels.postgres import PostgresSummaries
from services.common.readmodels.readstore import ReadStore
from services.common.settings import Settings
from services.common.store.application import store_env
from services.referral.api import ROUTERS
from services.referral.application import ReferralApplication
from services.referral.projections import postgres_summaries
from services.referral.settings import ReferralSettings
from services.referral.team_rows import TEAMS

DESCRIPTION = (
    "Referrals from draft to a closed loop: consent-gated sending, service levels, the "
    "coordinators' worklist, closed-loop metrics and FHIR ServiceRequest/Task views."
)


def build_referrals(
    settings: Settings | None,
    *,
    gate: ConsentGate | None = None,
    referral_settings: ReferralSettings | None = None,
    application_class: type[ReferralApplication] = ReferralApplication,
    create_table: bool = False,
) -> ReferralApplication:
    """The application on PostgreSQL (settings) or in memory (None), with its consent gate.

    On PostgreSQL its worklist and metrics read the `referral_summaries` projection, and a
    clinician's worklist the `plan_teams` projection, in the application's own schema
    (`application_class.name`).
    """
    options = referral_settings or ReferralSettings()
    name = application_class.name
    store = ReadStore.from_settings(settings) if settings is not None else None
    app = application_class(
        env=store_env(settings, name, create_table=create_table),
        summaries=postgres_summaries(store, schema=name) if store is not None else None,
        teams=PostgresSummaries(TEAMS, store, schema=name) if store is not None else None,
    )
    app.service_levels = options.service_levels()
    if gate is None and settings is not None:
        gate = HttpConsentGate(consent_url(settings), timeout=options.consent_timeout_seconds)
    app.consent_gate = gate
    if store is not None:
        app.access_log = PostgresAccessLog(app, store, schema=name)
    return app


def close_referrals(app: ReferralApplication) -> None:
    """Close the consent client, the read model's pool (if any) and the event store."""
    if isinstance(app.consent_gate, HttpConsentGate):
        app.consent_gate.close()
    app.summaries.close()
    app.teams.close()
    app.close()


# The referral API on PostgreSQL (from settings), or on the application given (tests).
create_app = ApplicationApi(
    "referral", ROUTERS, build=build_referrals, close=close_referrals, description=DESCRIPTION
)
