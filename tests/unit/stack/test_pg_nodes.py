"""The PostgreSQL pair on disk: each node's settings, which node leads, the URL naming both."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.stack import postgres, standby


def settings(data: Path) -> dict[str, str]:
    pairs = (
        line.split(" = ", 1) for line in (data / "postgresql.auto.conf").read_text().splitlines()
    )
    return {key: value.strip("'") for key, value in pairs}


@pytest.fixture
def nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[standby.PgNode, ...]:
    monkeypatch.setenv("CARELEDGER_HOME", str(tmp_path))
    monkeypatch.setattr(postgres, "_is_root", lambda: False)
    pair = standby.pg_nodes()
    for node in pair:
        node.data.mkdir(parents=True)
    return pair


def test_a_standby_follows_the_primary_under_its_own_name(
    nodes: tuple[standby.PgNode, ...],
) -> None:
    _, second = nodes
    postgres.write_node_conf(second.data, 5002, primary_port=5001)
    conf = settings(second.data)
    assert conf["port"] == "5002" and conf["listen_addresses"] == "127.0.0.1"
    assert conf["primary_conninfo"] == (
        "host=127.0.0.1 port=5001 user=careledger application_name=data-2"
    )
    assert conf["synchronous_standby_names"] == ""


def test_a_synchronous_primary_waits_for_its_standby_and_a_lone_one_for_no_one(
    nodes: tuple[standby.PgNode, ...],
) -> None:
    first, _ = nodes
    postgres.write_node_conf(first.data, 5001, synchronous=True)
    conf = settings(first.data)
    assert conf["synchronous_standby_names"] == "*" and conf["synchronous_commit"] == "on"
    assert conf["wal_log_hints"] == "on"  # pg_rewind needs it
    assert "primary_conninfo" not in conf
    postgres.write_node_conf(first.data, 5001)
    assert settings(first.data)["synchronous_standby_names"] == ""


def test_the_node_without_standby_signal_is_the_primary(nodes: tuple[standby.PgNode, ...]) -> None:
    first, second = nodes
    assert standby.roles() == (first, second)
    (second.data / "standby.signal").touch()
    assert standby.roles() == (first, second)
    (second.data / "standby.signal").unlink()
    (first.data / "standby.signal").touch()  # after a failover
    assert standby.roles() == (second, first)


def test_the_services_url_names_both_nodes_and_asks_for_the_one_that_takes_writes(
    nodes: tuple[standby.PgNode, ...],
) -> None:
    first, second = nodes
    postgres.write_node_conf(first.data, 5001)
    postgres.write_node_conf(second.data, 5002, primary_port=5001)
    assert standby.cluster_url() == (
        "postgresql://careledger@127.0.0.1:5001,127.0.0.1:5002/careledger"
        "?target_session_attrs=read-write"
    )
