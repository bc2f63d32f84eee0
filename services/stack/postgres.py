"""A private PostgreSQL cluster under <home>/pg, run by an unprivileged user when we are root."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from services.stack.state import (
    Component,
    free_port,
    log_tail,
    logs_dir,
    pid_alive,
    stack_home,
)

PG_USER = "careledger"  # OS user when running as root, and the database superuser
DATABASE = "careledger"
SCHEMAS = ("plan", "consent", "referral")


class PostgresStartError(RuntimeError):
    """The private PostgreSQL cluster could not be created or started."""


def pg_dir() -> Path:
    return stack_home() / "pg"


def data_dir() -> Path:
    return pg_dir() / "data"


def database_url(port: int) -> str:
    return f"postgresql://{PG_USER}@127.0.0.1:{port}/{DATABASE}"


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_pg_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the unprivileged user instead."""
    return ["runuser", "-u", PG_USER, "--", *cmd] if _is_root() else cmd


def _ensure_os_user() -> None:
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
        )


def _make_traversable(path: Path) -> None:
    """Let the postgres user reach `path`: add o+x to each parent that lacks it."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _run(cmd: list[str], what: str) -> None:
    result = subprocess.run(_as_pg_user(cmd), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PostgresStartError(f"{what} failed:\n{result.stdout}\n{result.stderr}")


def socket_dir(port: int) -> Path:
    # A unix socket path must stay under ~100 bytes; deep homes fall back to /tmp.
    inside = pg_dir() / "run"
    return inside if len(str(inside)) < 80 else Path(f"/tmp/careledger-{port}")  # noqa: S108 (postgres owns it)


def read_port(data: Path | None = None) -> int | None:
    conf = (data or data_dir()) / "postgresql.auto.conf"
    if conf.exists():
        for line in conf.read_text().splitlines():
            if line.startswith("port"):
                return int(line.split("=", 1)[1].strip().strip("'"))
    return None


def init_cluster(bindir: Path) -> int:
    """initdb once (trust auth, loopback only, a free port); returns the cluster's port."""
    if (data_dir() / "PG_VERSION").exists() and (port := read_port()):
        return port
    pg_dir().mkdir(parents=True, exist_ok=True)
    if data_dir().exists():
        shutil.rmtree(data_dir())  # an initdb that did not finish
    if _is_root():
        _ensure_os_user()
        _make_traversable(stack_home())
        shutil.chown(pg_dir(), user=PG_USER, group=None)
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data_dir()),
            "-U",
            PG_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        ],
        "initdb",
    )
    port = free_port()
    write_node_conf(data_dir(), port)
    return port


def write_node_conf(
    data: Path, port: int, *, primary_port: int | None = None, synchronous: bool = False
) -> None:
    """The node's own settings (postgresql.auto.conf): its port, and its part in replication.

    A standby follows `primary_port`; a primary with `synchronous` waits at each commit until
    its standby has the WAL on disk. pg_basebackup and pg_rewind copy this file from the other
    node, so it is written again after either.
    """
    lines = [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{socket_dir(port)}'",
        "fsync = on",
        "max_connections = 200",
        # pg_rewind needs hint-bit changes in the WAL; a standby that was away needs the WAL
        # written meanwhile (beyond this, it is cloned again).
        "wal_log_hints = on",
        "wal_keep_size = '256MB'",
        "synchronous_commit = on",
        f"synchronous_standby_names = '{'*' if synchronous else ''}'",
    ]
    if primary_port:
        conninfo = f"host=127.0.0.1 port={primary_port} user={PG_USER} application_name={data.name}"
        lines.append(f"primary_conninfo = '{conninfo}'")
    conf = data / "postgresql.auto.conf"
    conf.write_text("\n".join(lines) + "\n")
    if _is_root():
        shutil.chown(conf, user=PG_USER, group=None)


def start_postgres(bindir: Path) -> Component:
    """Create (once) and start the private cluster and the `careledger` database."""
    port = init_cluster(bindir)
    pid = start_node(bindir, data_dir(), logs_dir() / "postgres.log")
    create_database(port)
    return Component("postgres", pid=pid, port=port, url=database_url(port), log=str(log_of()))


def log_of(data: Path | None = None) -> Path:
    """logs/postgres.log for the first node (pg/data), logs/postgres-2.log for pg/data-2."""
    suffix = (data or data_dir()).name.removeprefix("data")
    return logs_dir() / f"postgres{suffix}.log"


def start_node(bindir: Path, data: Path, log: Path | None = None) -> int | None:
    """`pg_ctl start` the node in `data` unless it runs; returns the postmaster's pid."""
    port = read_port(data)
    assert port, f"{data} has no port in postgresql.auto.conf"
    sock = socket_dir(port)
    log = log or log_of(data)
    log.parent.mkdir(parents=True, exist_ok=True)
    sock.mkdir(parents=True, exist_ok=True)
    log.touch()
    if _is_root():
        for path in (sock, log):
            shutil.chown(path, user=PG_USER, group=None)
    if not pid_alive(postgres_pid(data)):
        cmd = [str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data), "-l", str(log)]
        result = subprocess.run(_as_pg_user(cmd), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresStartError(f"pg_ctl start failed: {result.stderr}\n{log_tail(log)}")
    return postgres_pid(data)


def postgres_pid(data: Path | None = None) -> int | None:
    """The postmaster's pid from postmaster.pid, if the file exists."""
    pidfile = (data or data_dir()) / "postmaster.pid"
    try:
        return int(pidfile.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def create_database(port: int) -> None:
    admin_url = f"postgresql://{PG_USER}@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not found:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


def stop_postgres(bindir: Path | None, data: Path | None = None, mode: str = "fast") -> None:
    """`pg_ctl stop -m fast` (or `mode`) as the cluster's owner."""
    data = data or data_dir()
    if not bindir or not (data / "postmaster.pid").exists():
        return
    cmd = [str(bindir / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(data)]
    subprocess.run(_as_pg_user(cmd), capture_output=True, text=True, check=False)


def ensure_schemas(database_url: str, schemas: tuple[str, ...] = SCHEMAS) -> None:
    """Create the per-service schemas; existing ones are left alone."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
