"""`stack up`, `down` and `status`: start and stop the local stack by pid (see stack.json)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.common.kafka_access import KafkaAccess, KafkaTarget, as_access
from services.common.settings import Settings
from services.stack import kafka, postgres, standby
from services.stack.prereqs import check_prerequisites, postgres_bindir
from services.stack.processes import ProcessSpec, service_processes
from services.stack.state import (
    Component,
    StackInfo,
    StackNotRunningError,
    logs_dir,
    pid_alive,
    port_answers,
    read_stack_info,
    stack_home,
    stop_pid,
    stop_pids,
    write_stack_info,
)

EXTERNAL_DB_ENV = "CARELEDGER_DATABASE_URL"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    alive: bool
    answers: bool | None  # None: the component has no port to ask
    url: str | None
    role: str | None = None  # a PostgreSQL node of a pair: primary or standby


def _previous() -> StackInfo | None:
    try:
        return read_stack_info()
    except StackNotRunningError:
        return None


def _running(component: Component | None) -> bool:
    return bool(component and pid_alive(component.pid) and port_answers(component.port))


def is_infra(name: str) -> bool:
    """Kafka nodes (`kafka`, `kafka-2`) and PostgreSQL nodes (`postgres`, `postgres-2`)."""
    return name.split("-", 1)[0] in ("kafka", "postgres")


def up(
    *,
    infra_only: bool = False,
    brokers: int | None = None,
    pg_standby: bool = False,
    kafka_tls: bool = False,
    on_note: Callable[[str], None] = print,
) -> StackInfo:
    """Start whatever is not already running; running components are kept as they are.

    `brokers` is 1 or 3; None keeps what this home's Kafka was formatted for (1 when new).
    `pg_standby` adds a streaming standby; a home that has one keeps it. `kafka_tls` formats a
    new home's broker for TLS + SCRAM clients only; a home formatted so keeps it.
    """
    external_db = os.environ.get(EXTERNAL_DB_ENV)
    bindir = check_prerequisites(need_postgres=not external_db)
    count = kafka.broker_count(brokers)
    home = stack_home()
    home.mkdir(parents=True, exist_ok=True)
    before = _previous()
    old = before.components if before else {}

    brokers_c = _start_brokers(count, old, kafka_tls)
    if external_db:
        pg_c = {"postgres": Component("postgres", url=external_db, managed=False)}
        database_url = external_db
    else:
        assert bindir is not None
        pg_c, database_url = _start_databases(bindir, old, pg_standby, on_note)
    services = {n: c for n, c in old.items() if not is_infra(n)}
    info = StackInfo(
        home=str(home),
        database_url=database_url,
        kafka_bootstrap=kafka.bootstrap_servers(count),
        kafka_version=kafka.kafka_version(),
        # Services of the last `up` stay listed (and stoppable) until this one replaces them.
        components={**brokers_c, **pg_c, **services},
        service_urls=dict(before.service_urls) if before else {},
        kafka_security=kafka.client_security(),
    )
    write_stack_info(info)  # record pids now, so `down` can stop them even if init fails
    for note in db_init(info.database_url, stack_kafka(info), brokers=count):
        on_note(note)
    if not infra_only:
        ports = {name: c.port for name, c in old.items() if c.port}
        specs = service_processes(ports)
        # Every API's port is chosen before any starts, so each service knows all the others
        # (the plan service asks consent, which starts after it).
        info.service_urls.update(
            {
                spec.name.removesuffix("-api"): f"http://127.0.0.1:{spec.port}"
                for spec in specs
                if spec.name.endswith("-api") and spec.port
            }
        )
        for spec in specs:
            previous = old.get(spec.name)
            if previous and pid_alive(previous.pid):
                info.components[spec.name] = previous
            else:
                info.components[spec.name] = start_process(spec, info)
            write_stack_info(info)  # each pid as soon as it runs
    return info


def _start_brokers(count: int, old: dict[str, Component], tls: bool) -> dict[str, Component]:
    """Every broker node, in node order: those running as they are, the others started."""
    names = [node.name for node in kafka.nodes(count)]
    running = {name: old[name] for name in names if _running(old.get(name))}
    started = kafka.start_brokers(count, set(running), on_launch=_remember, tls=tls)
    return {name: running.get(name) or started[name] for name in names}


def _remember(components: dict[str, Component]) -> None:
    """Record pids in stack.json as soon as they exist, so that `down` finds them anyway."""
    info = _previous() or StackInfo(home=str(stack_home()), database_url="", kafka_bootstrap="")
    info.components.update(components)
    write_stack_info(info)


def _start_databases(
    bindir: Path, old: dict[str, Component], pg_standby: bool, on_note: Callable[[str], None]
) -> tuple[dict[str, Component], str]:
    """PostgreSQL nodes and the URL the services use (naming both nodes when there are two)."""
    if not (pg_standby or standby.has_standby()):
        pg_c = old["postgres"] if _running(old.get("postgres")) else postgres.start_postgres(bindir)
        return {"postgres": pg_c}, pg_c.url or ""
    primary, _ = standby.roles()
    if primary.exists:
        postgres.start_node(bindir, primary.data)
    else:
        postgres.start_postgres(bindir)  # a new home: initdb the first node
    standby.start_standby(bindir, on_note)
    return {node.name: node.component() for node in standby.pg_nodes()}, standby.cluster_url()


def failover(on_note: Callable[[str], None] = print) -> StackInfo:
    """Promote the PostgreSQL standby and make the old primary its standby (stack.json too)."""
    info = read_stack_info()
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL binaries found (CARELEDGER_PG_BINDIR)")
    standby.failover(bindir, on_note)
    info.components.update({node.name: node.component() for node in standby.pg_nodes()})
    write_stack_info(info)
    return info


def db_init(database_url: str, kafka: KafkaTarget, *, brokers: int | None = None) -> list[str]:
    """Schemas, topics and the services' event tables; safe to run again. Returns notes.

    `brokers`: the cluster's size, for the topics' replication (None: the brokers that answer).
    Topics get `CARELEDGER_KAFKA_MAX_MESSAGE_BYTES` as their max.message.bytes, the limit the
    services refuse oversized events by; an existing topic with another limit is named.
    """
    from contracts.topics import ACCESS, EVENT_TOPICS
    from services.common.relay.kafka import topic_limits
    from services.stack.topics import ensure_topics

    access = as_access(kafka)
    postgres.ensure_schemas(database_url)
    notes = []
    if access.bootstrap:  # none: topics are someone else's (Strimzi's topic operator)
        limit = Settings(env="dev").kafka_max_message_bytes
        created = ensure_topics(access, brokers=brokers, max_message_bytes=limit)
        notes.append(f"topics created: {', '.join(created) or 'none (all exist)'}")
        topics = [spec.name for spec in (*EVENT_TOPICS, ACCESS)]
        notes += [
            f"{topic} takes records up to {found} bytes, under the {limit} of "
            f"CARELEDGER_KAFKA_MAX_MESSAGE_BYTES: set the topic's max.message.bytes to it"
            for topic, found in topic_limits(access, topics).items()
            if found < limit
        ]
    notes.append(create_event_tables(database_url, access.bootstrap))
    return notes


def stack_kafka(info: StackInfo) -> KafkaAccess:
    """How this stack's clients reach its broker (TLS + SCRAM when it was formatted so)."""
    return KafkaAccess(info.kafka_bootstrap, **info.kafka_security)


def create_event_tables(database_url: str, kafka_bootstrap: str) -> str:
    """Create every service's event, tracking, idempotency and quarantine tables."""
    from services.common.settings import load_settings
    from services.common.tables import create_event_tables as create

    # Table creation needs no JWT secret: default to dev so the secret check does not refuse.
    env = os.environ.get("CARELEDGER_ENV", "dev")
    created = create(
        load_settings(database_url=database_url, kafka_bootstrap=kafka_bootstrap, env=env)
    )
    return f"event tables ready: {created}"


def service_env(info: StackInfo) -> dict[str, str]:
    return {
        **os.environ,
        EXTERNAL_DB_ENV: info.database_url,
        **stack_kafka(info).environment(),
        "CARELEDGER_HOME": info.home,
        "CARELEDGER_ENV": os.environ.get("CARELEDGER_ENV", "dev"),
        # Every API of this `up`, by name (ports are chosen before the first one starts).
        "CARELEDGER_SERVICE_URLS": json.dumps(info.service_urls),
    }


def start_process(spec: ProcessSpec, info: StackInfo) -> Component:
    log = logs_dir() / f"{spec.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [executable(spec.argv[0]), *spec.argv[1:]],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=service_env(info),
        )
    url = f"http://127.0.0.1:{spec.port}" if spec.port else None
    component = Component(spec.name, pid=proc.pid, port=spec.port, url=url, log=str(log))
    _remember({spec.name: component})  # before the wait: `down` stops it whatever happens
    if spec.port:
        _wait_port(spec.port, proc, timeout=30)
    return component


def executable(name: str = "careledger") -> str:
    """Prefer the script beside this interpreter: the venv need not be on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if port_answers(port):
            return
        time.sleep(0.2)


def down() -> list[str]:
    """Stop what `up` started, by pid: services (together) first, then Kafka, then PostgreSQL."""
    info = _previous()
    if info is None:
        return []
    stopped: list[str] = []
    services = {n: c for n, c in info.components.items() if not is_infra(n)}
    stop_pids([c.pid for c in services.values() if c.managed and c.pid], timeout=15)
    stopped.extend(n for n, c in services.items() if c.managed)
    brokers = {n: c for n, c in info.components.items() if n.startswith("kafka") and c.managed}
    stop_pids([c.pid for c in brokers.values() if c.pid], timeout=30)
    stopped.extend(brokers)
    # The primary first: its shutdown checkpoint still reaches the standby. A node is stopped
    # by its data dir even if a `stack up` that started it never got to record it.
    external = not info.components.get("postgres", Component("postgres")).managed
    for node in () if external else standby.roles():
        component = info.components.get(node.name) or node.component()
        if not node.exists:
            continue
        postgres.stop_postgres(postgres_bindir(), node.data)
        if component.pid and pid_alive(component.pid):
            stop_pid(component.pid, timeout=15)
        stopped.append(node.name)
    Path(info.home, "stack.json").unlink(missing_ok=True)
    return stopped


def status() -> list[ComponentStatus]:
    info = _previous()
    if info is None:
        return []
    result = []
    roles = standby.role_names() if "postgres-2" in info.components else {}
    for name, c in info.components.items():
        answers = port_answers(c.port) if c.port else None
        alive = pid_alive(c.pid) if c.managed else bool(answers)
        result.append(ComponentStatus(name, c.pid, alive, answers, c.url, roles.get(name)))
    return result
