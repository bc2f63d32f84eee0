"""Every Kafka client's connection settings come from one function, with the names k8s gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.common.kafka_access import KafkaAccess, KafkaConfigError, kafka_access
from services.common.settings import Settings
from services.stack import k8s

REPO = Path(__file__).resolve().parents[3]
SECRET = "a-value-from-a-kubernetes-secret-0123456789"


def production_environment(process: str = "plan-relay") -> dict[str, str]:
    """What a process gets on Kubernetes: the config map plus its own env (secrets as stubs)."""
    config = yaml.safe_load((REPO / "deploy/k8s/base/config.yaml").read_text())
    env = dict(config["data"])
    for spec in k8s.service_processes():
        if spec.name == process:
            container = k8s._container(spec, k8s.kind_of(spec))
            for item in container["env"]:
                env[item["name"]] = item.get("value", SECRET)
    return env


def test_the_settings_read_every_kafka_variable_kubernetes_gives_a_relay(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = production_environment()
    kafka_names = {name for name in env if name.startswith("CARELEDGER_KAFKA_")}
    expected = {
        "BOOTSTRAP",
        "SECURITY_PROTOCOL",
        "SASL_MECHANISM",
        "SASL_USERNAME",
        "SASL_PASSWORD",
        "SSL_CAFILE",
    }
    assert kafka_names >= {f"CARELEDGER_KAFKA_{name}" for name in expected}
    assert {f"kafka_{n.removeprefix('CARELEDGER_KAFKA_').lower()}" for n in kafka_names} <= set(
        Settings.model_fields
    )
    cafile = tmp_path / "ca.crt"
    cafile.write_text("a CA")
    monkeypatch.setenv("CARELEDGER_HOME", str(tmp_path))  # no stack.json to fall back on
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CARELEDGER_KAFKA_SSL_CAFILE", str(cafile))
    access = kafka_access(Settings())
    assert access.options() == {
        "bootstrap_servers": "careledger-kafka-bootstrap:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "careledger-plan",
        "sasl_plain_password": SECRET,
        "ssl_cafile": str(cafile),
    }
    assert SECRET not in repr(access)


def test_a_bootstrap_alone_is_plaintext() -> None:
    access = kafka_access(Settings(env="dev", kafka_bootstrap="127.0.0.1:9092"))
    assert access.options(acks="all") == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
        "acks": "all",
    }


def test_confluent_kafka_gets_the_same_settings_in_its_own_names(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.crt"
    cafile.write_text("a CA")
    access = KafkaAccess("b:9093", "SASL_SSL", "SCRAM-SHA-512", "u", "p", str(cafile))
    assert access.librdkafka(**{"group.id": "g"}) == {
        "bootstrap.servers": "b:9093",
        "security.protocol": "sasl_ssl",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "u",
        "sasl.password": "p",
        "ssl.ca.location": str(cafile),
        "group.id": "g",
    }


def test_settings_round_trip_through_the_environment_of_a_started_process(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.crt"
    cafile.write_text("a CA")
    access = KafkaAccess("b:9093", "SASL_SSL", "SCRAM-SHA-256", "u", "p", str(cafile))
    env = access.environment()
    assert env["CARELEDGER_KAFKA_SASL_PASSWORD"] == "p"
    assert kafka_access(Settings(env="dev", **access.settings())) == access  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"security_protocol": "TLS"}, "CARELEDGER_KAFKA_SECURITY_PROTOCOL"),
        (
            {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "SCRAM-SHA-1",
                "sasl_username": "u",
                "sasl_password": "p",
            },
            "CARELEDGER_KAFKA_SASL_MECHANISM",
        ),
        (
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512"},
            "CARELEDGER_KAFKA_SASL_PASSWORD",
        ),
        (
            {"security_protocol": "SSL", "ssl_cafile": "/nowhere/ca.crt"},
            "CARELEDGER_KAFKA_SSL_CAFILE",
        ),
    ],
)
def test_contradictory_kafka_settings_are_refused_naming_the_variable(
    fields: dict[str, str], named: str
) -> None:
    with pytest.raises(KafkaConfigError, match=named):
        KafkaAccess("b:9093", **fields)
