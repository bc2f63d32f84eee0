"""Broker configs for one node and for a cluster of three, and the broker count a home keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.stack import kafka

PORTS = {1: (9001, 9101), 2: (9002, 9102), 3: (9003, 9103)}


def properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARELEDGER_HOME", str(tmp_path))
    return tmp_path


def test_a_node_of_three_names_all_three_voters_and_replicates_internal_topics_3_2(
    home: Path,
) -> None:
    node = kafka.nodes(3)[1]
    conf = properties(kafka.write_config(node, PORTS))
    assert node.config == home / "kafka" / "node-2" / "server.properties"
    assert conf["node.id"] == "2"
    assert conf["controller.quorum.voters"] == (
        "1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103"
    )
    assert "controller.quorum.bootstrap.servers" not in conf
    assert conf["listeners"] == "PLAINTEXT://127.0.0.1:9002,CONTROLLER://127.0.0.1:9102"
    assert conf["log.dirs"] == str(home / "kafka" / "node-2" / "data")
    for key in ("offsets.topic", "transaction.state.log", "share.coordinator.state.topic"):
        assert conf[f"{key}.replication.factor"] == "3"
    assert conf["transaction.state.log.min.isr"] == "2"
    assert conf["min.insync.replicas"] == "2"
    assert list(conf).count("node.id") == 1


def test_a_lone_broker_keeps_the_template_as_it_is(home: Path) -> None:
    node = kafka.nodes(1)[0]
    conf = properties(kafka.write_config(node, {1: PORTS[1]}))
    assert node.name == "kafka" and node.config == home / "kafka" / "server.properties"
    assert conf["controller.quorum.bootstrap.servers"] == "127.0.0.1:9101"
    assert "controller.quorum.voters" not in conf
    assert conf["offsets.topic.replication.factor"] == "1"
    assert conf["min.insync.replicas"] == "1"


def test_ports_are_kept_across_restarts_and_new_for_a_new_cluster(home: Path) -> None:
    fresh = kafka.node_ports(3)
    assert len({port for pair in fresh.values() for port in pair}) == 6
    for node in kafka.nodes(3):
        kafka.write_config(node, PORTS)
    assert kafka.node_ports(3) == PORTS
    assert kafka.bootstrap_servers(3) == "127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003"


def format_nodes(home: Path, count: int) -> None:
    for node in kafka.nodes(count):
        node.data.mkdir(parents=True)
        (node.data / "meta.properties").write_text("cluster.id=AAAAAAAAAAAAAAAAAAAAAA\n")


def test_a_home_keeps_the_broker_count_it_was_formatted_for(home: Path) -> None:
    assert kafka.broker_count(None) == 1
    format_nodes(home, 3)
    assert kafka.broker_count(None) == 3
    assert kafka.existing_cluster_id(3) == "AAAAAAAAAAAAAAAAAAAAAA"
    with pytest.raises(kafka.KafkaStartError, match="formatted for 3 broker"):
        kafka.broker_count(1)


def test_only_one_or_three_brokers_are_offered(home: Path) -> None:
    with pytest.raises(kafka.KafkaStartError, match="choose 1 or 3"):
        kafka.broker_count(2)
