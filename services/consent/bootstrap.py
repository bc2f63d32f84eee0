"""Composition root of the consent service: the Application, its read model and the API."""

from __future__ import annotations

from services.common.access.reads import PostgresAccessLog
from services.common.http.service_api import ApplicationApi
from services.common.readmodels.postgres import PostgresSummaries
from services.common.readmodels.readstore import ReadStore
from services.common.settings import Settings
from services.common.store.application import store_env
from services.consent.api import ROUTERS
from services.consent.application import ConsentApplication
from services.consent.disclosure_rows import DISCLOSURES
from services.consent.projections import postgres_decisions
from services.consent.records import HttpRecordLookup
from services.consent.settings import ConsentSettings

DESCRIPTION = (
    "Who may see what: couple information-sharing agreements, consent directives (including "
    "42 CFR Part 2), a decision point that records every answer, disclosures and their accounting."
)


def build_consents(
    settings: Settings | None,
    *,
    application_class: type[ConsentApplication] = ConsentApplication,
    create_table: bool = False,
    consent_settings: ConsentSettings | None = None,
) -> ConsentApplication:
    """The application on PostgreSQL (settings) or in memory (None).

    On PostgreSQL the compliance lists read the `compliance_decisions` projection and the
    accounting the `disclosures` projection, in the application's own schema
    (`application_class.name`), and records a decision request names
    are looked up in the services that own them (`settings.service_urls`).
    """
    options = consent_settings or ConsentSettings()
    name = application_class.name
    store = ReadStore.from_settings(settings) if settings is not None else None
    disclosures = PostgresSummaries(DISCLOSURES, store, schema=name) if store is not None else None
    app = application_class(
        env=store_env(settings, name, create_table=create_table),
        decisions=postgres_decisions(store, schema=name) if store is not None else None,
        disclosures=disclosures,
    )
    app.decision_validity = options.decision_validity()
    if settings is not None and store is not None:
        app.access_log = PostgresAccessLog(app, store, schema=name)
        urls = dict(settings.service_urls)
        app.records = HttpRecordLookup(lambda: urls, timeout=options.records_timeout_seconds)
    return app


def close_consents(app: ConsentApplication) -> None:
    """Close the read model's pool and the record lookup's client (if any) and the store."""
    app.decision_log.close()
    app.disclosure_log.close()
    if isinstance(app.records, HttpRecordLookup):
        app.records.close()
    app.close()


# The consent API on PostgreSQL (from settings), or on the application given (tests).
create_app = ApplicationApi(
    "consent", ROUTERS, build=build_consents, close=close_consents, description=DESCRIPTION
)
