"""One private cluster (3 brokers, a PostgreSQL standby, every service) for the cluster tests.

`careledger stack up --brokers 3 --pg-standby` under a temporary CARELEDGER_HOME, shared by the
tests of this package in file order (brokers, failover, replicas); each test leaves it whole
(what it kills is back and caught up) for the next. `stack down` in the finalizer, whatever
happens. CARELEDGER_FAULTS_KEEP=1 keeps the home (logs, data) for a post-mortem.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.support_cluster import CLUSTER_FLAGS, EVENT_TOPICS, Cluster, OrderedReader


@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    home = Path(tempfile.mkdtemp(prefix="careledger-cluster-"))
    private = Cluster(home)
    try:
        print(f"\ncluster up in {private.up(*CLUSTER_FLAGS, timeout=600):.1f}s ({home})")
        yield private
    finally:
        private.down()
        if not os.environ.get("CARELEDGER_FAULTS_KEEP"):
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="package")
def topics(cluster: Cluster) -> Iterator[dict[str, OrderedReader]]:
    bootstrap = cluster.info.kafka_bootstrap
    readers = {t.split(".")[1]: OrderedReader(bootstrap, t) for t in EVENT_TOPICS}
    yield readers
    for reader in readers.values():
        reader.close()
