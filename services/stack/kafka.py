"""A single-node KRaft broker from the Maven Central jars, run as a background java process."""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from pathlib import Path
from string import Template

from kafka.errors import KafkaError

from services.stack.state import (
    REPO_ROOT,
    Component,
    free_port,
    kafka_libs_dir,
    log_tail,
    logs_dir,
    stack_home,
)
from services.stack.topics import admin_client

POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
TEMPLATE = REPO_ROOT / "deploy" / "kafka" / "server.properties"
LOG4J2 = REPO_ROOT / "deploy" / "kafka" / "log4j2.properties"
BROKER_JAR_GLOB = "kafka_2.13-*.jar"


class KafkaStartError(RuntimeError):
    """The broker did not start or did not answer in time."""


def kafka_dir() -> Path:
    return stack_home() / "kafka"


def kafka_version(libs: Path | None = None) -> str:
    jars = sorted((libs or kafka_libs_dir()).glob(BROKER_JAR_GLOB))
    return jars[0].stem.split("-", 1)[1] if jars else ""


def fetch_jars() -> Path:
    """Gather the broker jars with Maven once; later calls reuse them."""
    libs = kafka_libs_dir()
    if kafka_version(libs) and any(libs.glob("log4j-slf4j-impl-*.jar")):
        return libs
    libs.mkdir(parents=True, exist_ok=True)
    cmd = ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
           "-DincludeScope=runtime", f"-DoutputDirectory={libs}"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not kafka_version(libs):
        raise KafkaStartError(
            f"maven could not fetch the Kafka jars:\n{result.stdout}\n{result.stderr}"
        )
    return libs


def write_config(broker_port: int, controller_port: int) -> Path:
    """Fill deploy/kafka/server.properties into <home>/kafka/server.properties."""
    target = kafka_dir() / "server.properties"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = Template(TEMPLATE.read_text()).substitute(
        broker_port=broker_port,
        controller_port=controller_port,
        log_dir=kafka_dir() / "data",
    )
    target.write_text(text)
    return target


def read_ports(config: Path) -> tuple[int, int] | None:
    """(broker, controller) ports from an existing server.properties, so restarts keep them."""
    if not config.exists():
        return None
    for line in config.read_text().splitlines():
        if line.startswith("listeners="):
            ports = [int(part.rsplit(":", 1)[1]) for part in line.split("=", 1)[1].split(",")]
            return ports[0], ports[1]
    return None


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


def format_storage(libs: Path, config: Path) -> None:
    """Format the log dir once (a formatted dir has meta.properties)."""
    if (kafka_dir() / "data" / "meta.properties").exists():
        return
    cmd = _java(libs, "kafka.tools.StorageTool", "format", "--standalone",
                f"--cluster-id={new_cluster_id()}", "-c", str(config))  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KafkaStartError(f"kafka storage format failed:\n{result.stdout}\n{result.stderr}")


def start_kafka() -> Component:
    """Fetch jars, write config, format storage, start the broker and wait until it answers."""
    libs = fetch_jars()
    ports = read_ports(kafka_dir() / "server.properties") or (free_port(), free_port())
    config = write_config(*ports)
    format_storage(libs, config)
    log = logs_dir() / "kafka.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["java", "-Xms512m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
           *_java(libs, "kafka.Kafka", str(config))[1:]]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=kafka_dir(),
        )  # fmt: skip
    bootstrap = f"127.0.0.1:{ports[0]}"
    wait_for_kafka(bootstrap, proc, log)
    return Component("kafka", pid=proc.pid, port=ports[0], url=bootstrap, log=str(log))


def kafka_answers(bootstrap: str, timeout_ms: int = 2_000) -> bool:
    try:
        admin = admin_client(bootstrap, timeout_ms=timeout_ms)
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
    bootstrap: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise KafkaStartError(
                f"kafka exited with {proc.returncode}; log tail:\n{log_tail(log)}"
            )
        if kafka_answers(bootstrap):
            return
        time.sleep(0.5)
    raise KafkaStartError(
        f"kafka did not answer on {bootstrap} in {timeout}s; log tail:\n{log_tail(log)}"
    )
