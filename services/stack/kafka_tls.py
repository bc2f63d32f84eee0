"""A local broker that takes TLS + SASL/SCRAM only, as production's does (`stack up --kafka-tls`).

At the first start the stack makes a CA and a broker certificate for 127.0.0.1 with the JDK's
keytool (under `<home>/kafka/tls/`) and random SCRAM-SHA-512 passwords for two users, `admin`
(broker to broker) and `careledger` (every client). The users enter the cluster's metadata when
the storage is formatted (`kafka-storage format --add-scram`). The client listener is then
SASL_SSL; the controller listener stays PLAINTEXT on loopback (only the broker uses it). A home
whose Kafka was formatted this way keeps it: the tls folder says so.
"""

from __future__ import annotations

import json
import secrets
import shlex
import subprocess
from pathlib import Path
from typing import Any

from services.common.kafka_access import KafkaAccess

MECHANISM = "SCRAM-SHA-512"
CLIENT_USER = "careledger"
ADMIN_USER = "admin"
LISTENER = "CLIENT"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


class KafkaTlsError(RuntimeError):
    """keytool failed, or the home's Kafka was formatted the other way."""


def tls_dir(kafka_home: Path) -> Path:
    return kafka_home / "tls"


def enabled(kafka_home: Path) -> bool:
    return (tls_dir(kafka_home) / "secrets.json").exists()


def _secrets(kafka_home: Path) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((tls_dir(kafka_home) / "secrets.json").read_text())
    return loaded


def _keytool(*args: str) -> None:
    result = subprocess.run(["keytool", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KafkaTlsError(f"keytool {args[0]} failed:\n{result.stdout}\n{result.stderr}")


def make_material(kafka_home: Path) -> None:
    """The CA, the broker's keystore and the SCRAM passwords, once."""
    folder = tls_dir(kafka_home)
    if enabled(kafka_home):
        return
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for stale in folder.glob("*.p12"):
        stale.unlink()  # a run cut short: start over
    store = secrets.token_hex(16)
    at = shlex.quote(str(folder))
    ca, broker = f"-keystore {at}/ca.p12", f"-keystore {at}/broker.p12"
    key = f"-genkeypair -keyalg RSA -keysize 2048 -validity 3650 -storetype PKCS12 -keypass {store}"
    steps = [
        f"{key} -alias ca -dname CN=careledger-local-ca -ext bc:c {ca}",
        f"-exportcert -rfc -alias ca {ca} -file {at}/ca.crt",
        f"{key} -alias broker -dname CN=localhost {broker}",
        f"-certreq -alias broker {broker} -file {at}/broker.csr",
        f"-gencert -rfc -alias ca {ca} -infile {at}/broker.csr -outfile {at}/broker.crt"
        " -ext SAN=ip:127.0.0.1,dns:localhost -ext EKU=serverAuth -validity 3650",
        f"-importcert -noprompt -alias ca -file {at}/ca.crt {broker}",
        f"-importcert -noprompt -alias broker -file {at}/broker.crt {broker}",
        # what the broker trusts as a client of itself (broker to broker)
        f"-importcert -noprompt -alias ca -file {at}/ca.crt -storetype PKCS12"
        f" -keystore {at}/truststore.p12",
    ]
    for step in steps:
        _keytool(*shlex.split(step), "-storepass", store)
    users = {user: secrets.token_hex(16) for user in (ADMIN_USER, CLIENT_USER)}
    target = folder / "secrets.json"
    target.touch(mode=0o600)
    target.write_text(json.dumps({"store": store, **users}))  # last: the material is complete


def broker_overrides(kafka_home: Path, broker_port: int, controller_port: int) -> dict[str, str]:
    """What a TLS + SCRAM broker changes in the template's server.properties."""
    known = _secrets(kafka_home)
    admin = f'{SCRAM_MODULE} required username="{ADMIN_USER}" password="{known[ADMIN_USER]}";'
    return {
        "listeners": f"{LISTENER}://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"{LISTENER}://127.0.0.1:{broker_port}",
        "listener.security.protocol.map": f"{LISTENER}:SASL_SSL,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": LISTENER,
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        f"listener.name.{LISTENER.lower()}.{MECHANISM.lower()}.sasl.jaas.config": admin,
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(tls_dir(kafka_home) / "broker.p12"),
        "ssl.keystore.password": known["store"],
        "ssl.key.password": known["store"],
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.location": str(tls_dir(kafka_home) / "truststore.p12"),
        "ssl.truststore.password": known["store"],
    }


def format_arguments(kafka_home: Path) -> list[str]:
    """`kafka-storage format` arguments that create the SCRAM users with the metadata."""
    known = _secrets(kafka_home)
    return [
        f"--add-scram={MECHANISM}=[name={user},password={known[user]}]"
        for user in (ADMIN_USER, CLIENT_USER)
    ]


def client_security(kafka_home: Path) -> dict[str, Any]:
    """The `kafka_*` settings a client of this broker needs (stack.json's `kafka_security`)."""
    if not enabled(kafka_home):
        return {}
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": MECHANISM,
        "sasl_username": CLIENT_USER,
        "sasl_password": _secrets(kafka_home)[CLIENT_USER],
        "ssl_cafile": str(tls_dir(kafka_home) / "ca.crt"),
    }


def client_access(kafka_home: Path, bootstrap: str) -> KafkaAccess:
    return KafkaAccess(bootstrap, **client_security(kafka_home))
