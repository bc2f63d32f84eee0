"""A streaming, synchronous standby of the private PostgreSQL, and failover to it.

Two nodes: `postgres` (<home>/pg/data) and `postgres-2` (<home>/pg/data-2). Which one is the
primary is on disk: a standby's data dir holds `standby.signal`. The services connect with a
URL naming both (`target_session_attrs=read-write`), so they find whichever node is primary
without a restart. The primary waits at each commit for the standby (`synchronous_standby_names
= '*'`, `synchronous_commit = on`) once it streams; a primary whose standby cannot follow runs
alone (asynchronous) until it can, rather than refuse every write.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from services.stack import postgres
from services.stack.postgres import PG_USER, PostgresStartError
from services.stack.state import Component, free_port, pid_alive, port_answers

STREAM_TIMEOUT_S = 60.0
Note = Callable[[str], None]


@dataclass(frozen=True)
class PgNode:
    """One PostgreSQL node of the stack."""

    name: str  # component name in stack.json
    data: Path

    @property
    def port(self) -> int | None:
        return postgres.read_port(self.data)

    @property
    def is_standby(self) -> bool:
        return (self.data / "standby.signal").exists()

    @property
    def exists(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def running(self) -> bool:
        return pid_alive(postgres.postgres_pid(self.data)) and port_answers(self.port)

    def component(self) -> Component:
        port = self.port
        url = postgres.database_url(port) if port else None
        log = str(postgres.log_of(self.data))
        return Component(
            self.name, pid=postgres.postgres_pid(self.data), port=port, url=url, log=log
        )


def pg_nodes() -> tuple[PgNode, PgNode]:
    return (
        PgNode("postgres", postgres.data_dir()),
        PgNode("postgres-2", postgres.pg_dir() / "data-2"),
    )


def has_standby() -> bool:
    return pg_nodes()[1].exists


def roles() -> tuple[PgNode, PgNode]:
    """(primary, standby) as the data dirs say; the first node leads when neither is marked."""
    first, second = pg_nodes()
    return (second, first) if first.is_standby and not second.is_standby else (first, second)


def cluster_url() -> str:
    """Both nodes in one URL; libpq takes the first that accepts writes."""
    hosts = ",".join(f"127.0.0.1:{node.port}" for node in pg_nodes())
    return f"postgresql://{PG_USER}@{hosts}/{postgres.DATABASE}?target_session_attrs=read-write"


def _admin(node: PgNode) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        f"postgresql://{PG_USER}@127.0.0.1:{node.port}/postgres",
        autocommit=True,
        connect_timeout=5,
    )


def replication_state(primary: PgNode, standby: PgNode) -> tuple[str, str] | None:
    """(state, sync_state) of the standby's WAL stream as the primary sees it, or None."""
    try:
        with _admin(primary) as conn:
            row = conn.execute(
                "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s",
                (standby.data.name,),
            ).fetchone()
    except psycopg.Error:
        return None
    return (str(row[0]), str(row[1])) if row else None


def in_recovery(node: PgNode) -> bool | None:
    try:
        with _admin(node) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    except psycopg.Error:
        return None
    return bool(row and row[0])


def role_names() -> dict[str, str]:
    """Each node's role as it answers (`primary`, `standby, sync streaming`), else from disk."""
    primary, standby = roles()
    names: dict[str, str] = {}
    for node in (primary, standby):
        recovering = in_recovery(node)
        if recovering is None:
            names[node.name] = f"{'standby' if node.is_standby else 'primary'} (not answering)"
        else:
            names[node.name] = "standby" if recovering else "primary"
    stream = replication_state(primary, standby)
    if stream and names[standby.name] == "standby":
        names[standby.name] = f"standby, {stream[1]} {stream[0]}"
    return names


def _pg(bindir: Path, tool: str, *args: str, what: str) -> subprocess.CompletedProcess[str]:
    cmd = postgres._as_pg_user([str(bindir / tool), *args])
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        raise PostgresStartError(f"{what} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _set_synchronous(bindir: Path, primary: PgNode, synchronous: bool) -> None:
    port = primary.port
    assert port
    postgres.write_node_conf(primary.data, port, synchronous=synchronous)
    if primary.running():
        _pg(bindir, "pg_ctl", "reload", "-D", str(primary.data), what="pg_ctl reload")


def _mark_standby(node: PgNode, primary: PgNode, port: int) -> None:
    primary_port = primary.port
    assert primary_port
    postgres.write_node_conf(node.data, port, primary_port=primary_port)
    (node.data / "standby.signal").touch()
    if postgres._is_root():
        shutil.chown(node.data / "standby.signal", user=PG_USER, group=None)


def clone(bindir: Path, primary: PgNode, node: PgNode, port: int) -> None:
    """A fresh copy of the primary into `node` (pg_basebackup), marked as its standby."""
    if node.data.exists():
        shutil.rmtree(node.data)
    _pg(
        bindir,
        "pg_basebackup",
        "-D",
        str(node.data),
        "-h",
        "127.0.0.1",
        "-p",
        str(primary.port),
        "-U",
        PG_USER,
        "-X",
        "stream",
        "-c",
        "fast",
        what="pg_basebackup",
    )
    _mark_standby(node, primary, port)


def rewind(bindir: Path, primary: PgNode, node: PgNode) -> str:
    """pg_rewind `node` onto the primary's timeline (a no-op when it never went past it)."""
    port = node.port
    assert port
    (node.data / "standby.signal").unlink(missing_ok=True)  # its crash recovery runs alone
    source = f"host=127.0.0.1 port={primary.port} user={PG_USER} dbname=postgres"
    try:
        result = _pg(
            bindir,
            "pg_rewind",
            f"--target-pgdata={node.data}",
            f"--source-server={source}",
            what="pg_rewind",
        )
    finally:
        _mark_standby(node, primary, port)  # never left to start as a second primary
    done = "no rewind required" if "no rewind required" in result.stderr else "rewound"
    return done


def wait_streaming(primary: PgNode, standby: PgNode, timeout: float = STREAM_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = replication_state(primary, standby)
        if state and state[0] == "streaming":
            return True
        if not pid_alive(postgres.postgres_pid(standby.data)):
            return False
        time.sleep(0.3)
    return False


def start_standby(bindir: Path, note: Note = print) -> Component:
    """Bring the standby up and streaming: cloned when new, rewound when it went its own way.

    Once it streams, the primary turns synchronous. If it cannot follow even after a fresh
    clone, the primary stays asynchronous and the error says why.
    """
    primary, standby = roles()
    if not primary.running():
        raise PostgresStartError(f"the primary ({primary.name}) is not running")
    if standby.running():
        if wait_streaming(primary, standby, timeout=10):
            _set_synchronous(bindir, primary, synchronous=True)
            return standby.component()
        postgres.stop_postgres(bindir, standby.data, mode="fast")  # it follows no one: rejoin
    _set_synchronous(bindir, primary, synchronous=False)  # no wait on a standby that is away
    if not standby.exists:
        clone(bindir, primary, standby, free_port())
        note(f"{standby.name}: cloned from {primary.name} (pg_basebackup)")
    else:
        try:
            note(f"{standby.name}: {rewind(bindir, primary, standby)} (pg_rewind)")
        except PostgresStartError as exc:
            note(f"{standby.name}: pg_rewind could not rewind it, cloning instead ({exc})")
            clone(bindir, primary, standby, standby.port or free_port())
    postgres.start_node(bindir, standby.data)
    if not wait_streaming(primary, standby):
        note(f"{standby.name}: not streaming after {STREAM_TIMEOUT_S:.0f}s: cloning again")
        postgres.stop_postgres(bindir, standby.data, mode="immediate")
        clone(bindir, primary, standby, standby.port or free_port())
        postgres.start_node(bindir, standby.data)
        if not wait_streaming(primary, standby):
            raise PostgresStartError(
                f"{standby.name} does not follow {primary.name}; {primary.name} runs alone "
                f"(asynchronous). Log: {postgres.log_of(standby.data)}"
            )
    _set_synchronous(bindir, primary, synchronous=True)
    return standby.component()


def failover(bindir: Path, note: Note = print) -> tuple[PgNode, PgNode]:
    """Promote the standby; then make the old primary its standby. Returns (primary, standby).

    A running primary is stopped first (a switchover); a dead one is rewound. The promoted
    node runs asynchronously until the old primary streams from it.
    """
    old_primary, standby = roles()
    if not standby.exists:
        raise PostgresStartError("no standby to promote: start the stack with --pg-standby")
    if not standby.running():
        raise PostgresStartError(f"the standby ({standby.name}) is not running: cannot promote")
    if old_primary.running():
        note(f"{old_primary.name}: running, stopped first (switchover)")
        postgres.stop_postgres(bindir, old_primary.data, mode="fast")
    port, old_port = standby.port, old_primary.port
    assert port and old_port
    _mark_standby(old_primary, standby, old_port)  # it must never come back as a primary
    postgres.write_node_conf(standby.data, port, synchronous=False)
    _pg(bindir, "pg_ctl", "reload", "-D", str(standby.data), what="pg_ctl reload")
    _pg(
        bindir,
        "pg_ctl",
        "promote",
        "-w",
        "-t",
        "60",
        "-D",
        str(standby.data),
        what="pg_ctl promote",
    )
    # pg_rewind reads the source's timeline from its control file, which a fresh promotion
    # updates only at its next checkpoint: without one, it sees no fork and rewinds nothing.
    with _admin(standby) as conn:
        conn.execute("CHECKPOINT")
    note(f"{standby.name}: promoted, now the primary")
    start_standby(bindir, note)
    return standby, old_primary
