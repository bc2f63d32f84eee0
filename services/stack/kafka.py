"""KRaft brokers from the Maven Central jars, run as background java processes.

One broker (the default) is both broker and controller and lives in <home>/kafka. A cluster of
three lives in <home>/kafka/node-<id>: each node is broker and controller, the three controllers
form the quorum (static voters), and internal topics get replication 3 and min ISR 2, like the
event topics (topics.py). The layout on disk says how many brokers a home was formatted for.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template

from kafka.errors import KafkaError

from services.common.kafka_access import KafkaTarget, as_access
from services.stack import kafka_tls
from services.stack.state import (
    REPO_ROOT,
    Component,
    free_port,
    kafka_libs_dir,
    log_tail,
    logs_dir,
    stack_home,
)
from services.stack.topics import admin_client, replication_for

POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
TEMPLATE = REPO_ROOT / "deploy" / "kafka" / "server.properties"
LOG4J2 = REPO_ROOT / "deploy" / "kafka" / "log4j2.properties"
BROKER_JAR_GLOB = "kafka_2.13-*.jar"
BROKER_COUNTS = (1, 3)
# A broker of a cluster on one machine gets half the heap of a lone broker: three share the RAM.
HEAP = {1: ("-Xms512m", "-Xmx1g"), 3: ("-Xms256m", "-Xmx512m")}


class KafkaStartError(RuntimeError):
    """The broker did not start or did not answer in time."""


def kafka_dir() -> Path:
    return stack_home() / "kafka"


@dataclass(frozen=True)
class BrokerNode:
    """One broker of a cluster of `count`: where its config, data and log are."""

    node_id: int
    count: int

    @property
    def name(self) -> str:
        return "kafka" if self.count == 1 else f"kafka-{self.node_id}"

    @property
    def home(self) -> Path:
        return kafka_dir() if self.count == 1 else kafka_dir() / f"node-{self.node_id}"

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return logs_dir() / f"{self.name}.log"


def nodes(count: int) -> list[BrokerNode]:
    return [BrokerNode(node_id, count) for node_id in range(1, count + 1)]


def formatted_count() -> int | None:
    """How many brokers this home's Kafka was formatted for (None: not formatted yet)."""
    cluster = sorted(kafka_dir().glob("node-*/data/meta.properties"))
    if cluster:
        return len(cluster)
    return 1 if (kafka_dir() / "data" / "meta.properties").exists() else None


def broker_count(requested: int | None) -> int:
    """The broker count to run: as requested, else as formatted, else 1; refuse a change."""
    formatted = formatted_count()
    count = requested or formatted or 1
    if count not in BROKER_COUNTS:
        raise KafkaStartError(f"--brokers {count}: choose 1 or 3")
    if formatted and count != formatted:
        raise KafkaStartError(
            f"this stack's Kafka was formatted for {formatted} broker(s) ({kafka_dir()}); to run "
            f"{count}, stop it (`careledger stack down`) and remove {kafka_dir()} (its topics "
            "go with it)"
        )
    return count


def kafka_version(libs: Path | None = None) -> str:
    jars = sorted((libs or kafka_libs_dir()).glob(BROKER_JAR_GLOB))
    return jars[0].stem.split("-", 1)[1] if jars else ""


def fetch_jars() -> Path:
    """Gather the broker jars with Maven once; later calls reuse them."""
    libs = kafka_libs_dir()
    if kafka_version(libs) and any(libs.glob("log4j-slf4j-impl-*.jar")):
        return libs
    libs.mkdir(parents=True, exist_ok=True)
    cmd = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={libs}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not kafka_version(libs):
        raise KafkaStartError(
            f"maven could not fetch the Kafka jars:\n{result.stdout}\n{result.stderr}"
        )
    return libs


Ports = dict[int, tuple[int, int]]  # node id -> (broker port, controller port)


def cluster_overrides(node: BrokerNode, ports: Ports) -> dict[str, str | None]:
    """What a node of a cluster changes in the one-node template (None: the key goes)."""
    if node.count == 1:
        return {}
    replication, min_isr = replication_for(node.count)
    voters = ",".join(f"{i}@127.0.0.1:{controller}" for i, (_, controller) in ports.items())
    internal = {
        "offsets.topic.replication.factor": replication,
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": min_isr,
        "default.replication.factor": replication,
        "min.insync.replicas": min_isr,
    }
    return {
        "node.id": str(node.node_id),
        "controller.quorum.bootstrap.servers": None,  # static voters instead
        "controller.quorum.voters": voters,
        **{key: str(value) for key, value in internal.items()},
    }


def with_overrides(text: str, overrides: dict[str, str | None]) -> str:
    """`text` (a .properties file) with each key of `overrides` set in place, or removed."""
    lines, left = [], dict(overrides)
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line and not line.startswith("#") else ""
        if key in left:
            value = left.pop(key)
            if value is not None:
                lines.append(f"{key}={value}")
        else:
            lines.append(line)
    lines += [f"{key}={value}" for key, value in left.items() if value is not None]
    return "\n".join(lines) + "\n"


def log_dirs(node: BrokerNode) -> list[Path]:
    """A node's log dirs: its data dir, and those CARELEDGER_KAFKA_EXTRA_LOG_DIRS names
    (comma-separated, each on a disk of its own as with JBOD; a one-node stack only)."""
    extra = os.environ.get("CARELEDGER_KAFKA_EXTRA_LOG_DIRS", "") if node.count == 1 else ""
    return [node.data, *(Path(d) for d in extra.split(",") if d)]


def write_config(node: BrokerNode, ports: Ports) -> Path:
    """Fill deploy/kafka/server.properties (plus a cluster node's overrides) into its home."""
    node.config.parent.mkdir(parents=True, exist_ok=True)
    broker_port, controller_port = ports[node.node_id]
    text = Template(TEMPLATE.read_text()).substitute(
        broker_port=broker_port,
        controller_port=controller_port,
        log_dir=",".join(str(d) for d in log_dirs(node)),
    )
    overrides = cluster_overrides(node, ports)
    if kafka_tls.enabled(kafka_dir()):
        overrides |= kafka_tls.broker_overrides(kafka_dir(), broker_port, controller_port)
    node.config.write_text(with_overrides(text, overrides))
    return node.config


def read_ports(config: Path) -> tuple[int, int] | None:
    """(broker, controller) ports from an existing server.properties, so restarts keep them."""
    if not config.exists():
        return None
    for line in config.read_text().splitlines():
        if line.startswith("listeners="):
            ports = [int(part.rsplit(":", 1)[1]) for part in line.split("=", 1)[1].split(",")]
            return ports[0], ports[1]
    return None


def node_ports(count: int) -> Ports:
    """Every node's ports: as configured before, or all new when any node has no config yet."""
    known = {node.node_id: read_ports(node.config) for node in nodes(count)}
    if all(known.values()):
        return {node_id: ports for node_id, ports in known.items() if ports}
    return {node.node_id: (free_port(), free_port()) for node in nodes(count)}


def _java(libs: Path, main: str, *args: str) -> list[str]:
    return ["java", "-cp", f"{libs}/*", f"-Dlog4j2.configurationFile={LOG4J2}", main, *args]


def new_cluster_id() -> str:
    """A random cluster id as Kafka writes them (base64url of 16 bytes), never starting with '-'.

    One id in 64 would start with '-', which the storage tool's argument parser reads as an
    option ("--cluster-id: expected one argument"); Kafka's own Uuid.randomUuid avoids it too.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def existing_cluster_id(count: int) -> str | None:
    """The cluster id a formatted node of the cluster already has (the others must share it)."""
    for node in nodes(count):
        meta = node.data / "meta.properties"
        if meta.exists():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
    return None


def format_storage(libs: Path, node_list: list[BrokerNode], cluster_id: str) -> None:
    """Format each node's log dir once (a formatted dir has meta.properties), all at once."""
    running = []
    for node in node_list:
        if (node.data / "meta.properties").exists():
            continue
        quorum = ["--standalone"] if node.count == 1 else []  # a cluster names its voters
        if kafka_tls.enabled(kafka_dir()):
            quorum += kafka_tls.format_arguments(kafka_dir())  # the SCRAM users
        cmd = _java(
            libs,
            "kafka.tools.StorageTool",
            "format",
            *quorum,
            f"--cluster-id={cluster_id}",
            "-c",
            str(node.config),
        )
        running.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for proc in running:
        output, _ = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise KafkaStartError(f"kafka storage format failed:\n{output.decode()}")


def bootstrap_servers(count: int, ports: Ports | None = None) -> str:
    ports = ports or node_ports(count)
    return ",".join(f"127.0.0.1:{ports[node.node_id][0]}" for node in nodes(count))


def start_brokers(
    count: int,
    running: set[str],
    on_launch: Callable[[dict[str, Component]], None] = lambda _: None,
    *,
    tls: bool = False,
) -> dict[str, Component]:
    """Start the nodes of a `count`-broker cluster not in `running` (by name), all at once.

    Nodes of a cluster must start together: none answers before a majority of the controller
    quorum is up. `on_launch` gets their pids before the wait (to record them, so that they can
    be stopped whatever happens next). Returns the components started. `tls` formats a new
    home's broker for TLS + SCRAM only (kafka_tls.py); a home formatted so keeps it.
    """
    libs = fetch_jars()
    use_tls(count, tls)
    ports = node_ports(count)
    cluster_id = existing_cluster_id(count) or new_cluster_id()
    missing = [node for node in nodes(count) if node.name not in running]
    for node in missing:
        write_config(node, ports)
    format_storage(libs, missing, cluster_id)
    started = {node.name: (node, _launch(libs, node)) for node in missing}
    components = {
        name: Component(
            name,
            pid=proc.pid,
            port=ports[node.node_id][0],
            url=f"127.0.0.1:{ports[node.node_id][0]}",
            log=str(node.log),
        )
        for name, (node, proc) in started.items()
    }
    on_launch(components)
    for name, (node, proc) in started.items():
        access = kafka_tls.client_access(kafka_dir(), components[name].url or "")
        wait_for_kafka(access, proc, node.log)
    return components


def use_tls(count: int, requested: bool) -> None:
    """Make the TLS material for a new home that asks for it; refuse to change a formatted one."""
    if kafka_tls.enabled(kafka_dir()):
        if count != 1:
            raise KafkaStartError("--kafka-tls runs one broker; this home was formatted for it")
        return
    if not requested:
        return
    if formatted_count():
        raise KafkaStartError(
            f"this stack's Kafka was formatted without TLS ({kafka_dir()}); for --kafka-tls, "
            f"stop it (`careledger stack down`) and remove {kafka_dir()} (its topics go with it)"
        )
    if count != 1:
        raise KafkaStartError("--kafka-tls runs one broker: leave out --brokers 3")
    kafka_tls.make_material(kafka_dir())


def client_security() -> dict[str, str]:
    """The `kafka_*` client settings of this home's broker ({} for PLAINTEXT)."""
    return kafka_tls.client_security(kafka_dir())


def start_kafka() -> Component:
    """Start a one-broker stack's broker and wait until it answers."""
    return start_brokers(1, set())["kafka"]


def _launch(libs: Path, node: BrokerNode) -> subprocess.Popen[bytes]:
    node.log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "java",
        *HEAP[node.count],
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        *_java(libs, "kafka.Kafka", str(node.config))[1:],
    ]
    with node.log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=node.home,
        )


def kafka_answers(kafka: KafkaTarget, timeout_ms: int = 2_000) -> bool:
    try:
        admin = admin_client(kafka, timeout_ms=timeout_ms)
    except (KafkaError, OSError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def wait_for_kafka(
    kafka: KafkaTarget, proc: subprocess.Popen[bytes], log: Path, timeout: float = 240
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise KafkaStartError(
                f"kafka exited with {proc.returncode}; log tail:\n{log_tail(log)}"
            )
        if kafka_answers(kafka):
            return
        time.sleep(0.5)
    raise KafkaStartError(
        f"kafka did not answer on {as_access(kafka).bootstrap} in {timeout}s; "
        f"log tail:\n{log_tail(log)}"
    )
