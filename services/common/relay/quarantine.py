"""What the relay holds back: events that cannot become records, and what follows them.

An event that does not decode, has no contract or breaks it is quarantined: the relay publishes
the rest and moves its checkpoint past it, listing it under `held` in that same checkpoint
(kafka.py). Later events of the same aggregate are held behind it, so a consumer never
sees an aggregate's version N+1 before N. `<schema>.quarantine` (quarantine.py) keeps the
reason for `careledger relay <svc> --status`; `--retry` marks rows, and the running relay
publishes the held events of those aggregates again, in order, with a checkpoint that no longer
holds them: exactly once, like any other batch. The rows are written before the Kafka
transaction and matched to the committed checkpoint after every (re)connect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from psycopg import sql

from services.common import quarantine
from services.common.quarantine import Held
from services.common.relay.config import Poison, TooManyHeld, Wire

SOURCE = "relay"
MAX_HELD = 1_000  # more than this is a systemic fault (say, a contract missing): stop


def position_of(wire: Wire) -> int:
    return int(dict(wire[2])["ce_position"])


def type_of(wire: Wire) -> str:
    return dict(wire[2]).get("ce_type", b"").decode()


class RelayQuarantine(quarantine.StoreLink):
    """The held positions (as committed on Kafka) and their rows in PostgreSQL."""

    def __init__(self, service: str, schema: str, database_url: str) -> None:
        super().__init__(schema, database_url)
        self.service = service
        self.held: dict[int, str] = {}  # position -> aggregate id, as last committed

    def sort(self, items: Sequence[Wire | Poison]) -> tuple[list[Wire], dict[int, str], list[Held]]:
        """The records to send, the held positions once they are sent, and the new rows."""
        held = dict(self.held)
        first = {aggregate: position for position, aggregate in sorted(held.items(), reverse=True)}
        sendable: list[Wire] = []
        rows: list[Held] = []
        for item in items:
            if isinstance(item, Poison):
                aggregate, position = item.aggregate_id, item.position
                behind = first.get(aggregate)
                reason = item.reason if behind is None else f"{item.reason} (and held behind)"
                rows.append(
                    Held(
                        SOURCE, str(position), position, aggregate, item.event_type, reason, behind
                    )
                )
            else:
                aggregate = item[0].decode()
                behind = first.get(aggregate)
                if behind is None:
                    sendable.append(item)
                    continue
                position = position_of(item)
                rows.append(
                    Held(
                        SOURCE,
                        str(position),
                        position,
                        aggregate,
                        type_of(item),
                        f"held behind position {behind}",
                        behind,
                    )
                )
            held[position] = aggregate
            first.setdefault(aggregate, position)
        if len(held) > MAX_HELD:
            raise TooManyHeld(
                f"{len(held)} events would be quarantined (at most {MAX_HELD}): the cause is "
                "not one bad record; see `careledger relay <service> --status`, fix, restart"
            )
        return sendable, held, rows

    def record(self, rows: Sequence[Held]) -> None:
        """Write the rows (before the transaction that holds them commits)."""
        if rows:
            with self.connection().cursor() as cur:
                quarantine.add(cur, self.schema, self.service, rows)

    def committed(self, held: dict[int, str]) -> None:
        self.held = held
        quarantine.set_gauge(self.service, SOURCE, len(held))

    def reconcile(self) -> None:
        """Drop rows of positions the committed checkpoint does not hold (a failed commit)."""
        with self.connection().cursor() as cur:
            rows = quarantine.held(cur, self.schema, SOURCE)
            stale = [r.ref for r in rows if r.position not in self.held]
            if stale:
                quarantine.remove(cur, self.schema, SOURCE, stale)
        quarantine.set_gauge(self.service, SOURCE, len(self.held))

    def retries(self) -> list[Held]:
        """Every held row of the aggregates an operator asked to retry, in position order."""
        with self.connection().cursor() as cur:
            asked = {r.aggregate_id for r in quarantine.retry_requested(cur, self.schema, SOURCE)}
            if not asked:
                return []
            return [r for r in quarantine.held(cur, self.schema, SOURCE) if r.aggregate_id in asked]

    def released(self, refs: Iterable[str], failed: Sequence[Held]) -> None:
        """After a retry: rows published go; rows that failed again keep their new reason."""
        with self.connection().cursor() as cur:
            quarantine.remove(cur, self.schema, SOURCE, list(refs))
            quarantine.add(cur, self.schema, self.service, failed)
            cur.execute(
                sql.SQL("UPDATE {} SET retry_requested_at = NULL WHERE source = %s").format(
                    quarantine.table(self.schema)
                ),
                (SOURCE,),
            )
