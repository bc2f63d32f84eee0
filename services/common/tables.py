"""Every table a service's schema holds, created once by `careledger db init`.

The event store's (events, tracking), the HTTP kit's (idempotency) and the quarantine: this
module sits above the rooms whose tables it creates, so the store need not import HTTP.
"""

from __future__ import annotations

import psycopg

from services.common.http.idempotency import create_table_sql as idempotency_table_sql
from services.common.quarantine import create_sql as quarantine_table_sql
from services.common.settings import SERVICES, Settings
from services.common.store.application import CareApplication, postgres_env
from services.common.store.chain import events_table, install_chain


def create_event_tables(settings: Settings) -> list[str]:
    """Every service's event (hash-chained), tracking, idempotency and quarantine tables."""
    created = []
    for service in SERVICES:
        app_cls = type(f"{service.title()}Tables", (CareApplication,), {"name": service})
        app_cls(env=postgres_env(settings, service, create_table=True)).close()
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(idempotency_table_sql(service))
            conn.execute(quarantine_table_sql(service))
            install_chain(conn, *events_table(service))
        created.append(service)
    return created
