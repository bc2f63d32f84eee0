"""Event store write throughput: the kit's save path vs raw psycopg inserts of the same rows.

    .venv/bin/python bench/store.py [--events 3000] [--batch 50] [--rounds 3]

Needs the local stack (`careledger stack up --infra-only`). In a private PostgreSQL schema it
times, one after another in the same run:
  kit_single  CareApplication.save_as(ctx, aggregate): one aggregate (one event) per transaction
  kit_batch   CareApplication.save_as(ctx, *aggregates): --batch aggregates per transaction
  raw_single  psycopg INSERT ... RETURNING notification_id, one row per transaction, into a table
              of the same shape (the rows the kit stored, byte for byte)
  raw_batch   the same with --batch rows per transaction (executemany)
  kit_*_chained  the two kit paths again on a second schema whose events table has the hash
              chain's trigger (services/common/store/chain.py), as `careledger db init` installs it
The six paths run interleaved for --rounds rounds (the machine is shared and noisy); prints
each round, the medians and, last, one line of JSON with the median events/s and ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from services.common.context import CommandContext
from services.common.events import name_events
from services.common.settings import load_settings
from services.common.store.application import CareApplication, build_application
from services.common.store.chain import install_chain

CTX = CommandContext(actor_id="bench", actor_role="system", tenant="practice-bench")


class BenchNote(Aggregate):
    @event("BenchNoteTaken")
    def __init__(self, tenant: str, n: int, code: str, labels: list[str]) -> None:
        self.tenant = tenant
        self.n = n


name_events("storebench", BenchNote)


def notes(count: int, start: int = 0) -> list[BenchNote]:
    return [
        BenchNote(tenant=CTX.tenant, n=i, code="F10.20", labels=["R"])
        for i in range(start, start + count)
    ]


def timed(label: str, events: int, work: Callable[[], None]) -> float:
    began = time.perf_counter()
    work()
    elapsed = time.perf_counter() - began
    rate = events / elapsed
    print(f"{label:<12} {events:>7} events in {elapsed:7.2f}s = {rate:9.0f} events/s")
    return rate


def raw_table(conn: psycopg.Connection[Any], schema: str) -> sql.Composed:
    """A table of the events table's shape (same columns, keys and notification index)."""
    table = sql.Identifier(schema, "raw_events")
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
            "topic text, state bytea, notification_id bigserial, "
            "PRIMARY KEY (originator_id, originator_version))"
        ).format(table)
    )
    conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} (notification_id)").format(table))
    return sql.SQL(
        "INSERT INTO {} (originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s) RETURNING notification_id"
    ).format(table)


class Bench:
    """The six write paths on two schemas; each `round()` times every path once, interleaved."""

    def __init__(
        self,
        app: CareApplication,
        conn: psycopg.Connection[Any],
        schema: str,
        chained: CareApplication,
    ) -> None:
        self.app, self.conn, self.chained = app, conn, chained
        self.events_table = sql.Identifier(schema, f"{schema}_events")
        self.insert = raw_table(conn, schema)
        conn.commit()
        app.save_as(CTX, *notes(20))  # warm the pool and prepared statements
        chained.save_as(CTX, *notes(20))
        self.rounds = 0

    def round(self, n: int, batch: int) -> dict[str, float]:
        single, batched = notes(n), notes(n)
        groups = [batched[i : i + batch] for i in range(0, n, batch)]

        def kit_single(app: CareApplication, aggregates: list[BenchNote]) -> None:
            for aggregate in aggregates:
                app.save_as(CTX, aggregate)

        def kit_batch(app: CareApplication, batches: list[list[BenchNote]]) -> None:
            for group in batches:
                app.save_as(CTX, *group)

        chained_single, chained = notes(n), notes(n)
        chained_groups = [chained[i : i + batch] for i in range(0, n, batch)]
        paths = {
            "kit_single": lambda: kit_single(self.app, single),
            "kit_batch": lambda: kit_batch(self.app, groups),
            "kit_single_chained": lambda: kit_single(self.chained, chained_single),
            "kit_batch_chained": lambda: kit_batch(self.chained, chained_groups),
        }
        order = list(paths) if self.rounds % 2 == 0 else [*list(paths)[2:], *list(paths)[:2]]
        self.rounds += 1  # the chained paths go first every other round: no order bias
        rates = {name: timed(name, n, paths[name]) for name in order}
        single_rows, batch_rows = self.stored_rows(single), self.stored_rows(batched)
        rates["raw_single"] = timed("raw_single", n, lambda: self.raw(single_rows, 1))
        rates["raw_batch"] = timed("raw_batch", n, lambda: self.raw(batch_rows, batch))
        return rates

    def stored_rows(self, aggregates: list[BenchNote]) -> list[tuple[Any, ...]]:
        """The rows the kit stored for `aggregates`, byte for byte, in store order."""
        query = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {} "
            "WHERE originator_id = ANY(%s) ORDER BY notification_id"
        ).format(self.events_table)
        with self.conn.cursor() as cur:
            rows = cur.execute(query, ([a.id for a in aggregates],)).fetchall()
        self.conn.commit()
        return rows

    def raw(self, rows: list[tuple[Any, ...]], batch: int) -> None:
        with self.conn.cursor() as cur:
            for i in range(0, len(rows), batch):
                cur.executemany(self.insert, rows[i : i + batch], returning=True)
                self.conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=3_000, help="events per path per round")
    parser.add_argument("--batch", type=int, default=50, help="aggregates/rows per transaction")
    parser.add_argument("--rounds", type=int, default=3, help="medians are reported")
    args = parser.parse_args()
    settings = load_settings(env="dev")
    schema = f"storebench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(f"{schema}c")))
    app_cls = type("StoreBench", (CareApplication,), {"name": schema})
    app: CareApplication = build_application(app_cls, settings, create_table=True)
    chained_cls = type("StoreBenchChained", (CareApplication,), {"name": f"{schema}c"})
    chained: CareApplication = build_application(chained_cls, settings, create_table=True)
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        install_chain(admin, f"{schema}c", f"{schema}c_events")
    results: list[dict[str, float]] = []
    try:
        with psycopg.connect(settings.database_url) as conn:
            bench = Bench(app, conn, schema, chained)
            for number in range(1, args.rounds + 1):
                print(f"-- round {number} of {args.rounds}")
                results.append(bench.round(args.events, args.batch))
    finally:
        app.close()
        chained.close()
        with psycopg.connect(settings.database_url, autocommit=True) as admin:
            for name in (schema, f"{schema}c"):
                admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    rates = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print("-- medians")
    for name, rate in rates.items():
        print(f"{name:<20} {rate:9.0f} events/s")
    ratios = {
        "kit_single_vs_raw_single": round(rates["kit_single"] / rates["raw_single"], 3),
        "kit_batch_vs_raw_batch": round(rates["kit_batch"] / rates["raw_batch"], 3),
        "kit_batch_vs_raw_single": round(rates["kit_batch"] / rates["raw_single"], 3),
        "kit_batch_vs_kit_single": round(rates["kit_batch"] / rates["kit_single"], 3),
        "chained_vs_plain_single": round(rates["kit_single_chained"] / rates["kit_single"], 3),
        "chained_vs_plain_batch": round(rates["kit_batch_chained"] / rates["kit_batch"], 3),
    }
    for name, value in ratios.items():
        print(f"{name:<26} {value:6.3f}")
    figures = {k: round(v, 1) for k, v in rates.items()}
    summary = {"events": args.events, "batch": args.batch, "rounds": args.rounds}
    print(json.dumps({**summary, "events_per_s": figures, "ratios": ratios}))


if __name__ == "__main__":
    main()
