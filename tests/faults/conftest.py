"""One private stack (all services as real processes) shared by the fault tests of a session.

`careledger stack up` under a temporary CARELEDGER_HOME; `stack down` (and SIGKILL of any
recorded pid left) in the finalizer, whatever happens.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.disk import can_mount, own_disks
from tests.faults.stack import SERVICES, PrivateStack, TopicReader

DISKS = ("pg", "kafka")


@pytest.fixture(scope="session")
def stack() -> Iterator[PrivateStack]:
    """Set CARELEDGER_FAULTS_KEEP=1 to keep the stack's home (logs, data) for a post-mortem."""
    home = Path(tempfile.mkdtemp(prefix="careledger-faults-"))
    private = PrivateStack(home)
    # PostgreSQL's data and the broker's log dir each on a file system of its own (as root),
    # so that the disk tests can fill one of them.
    with own_disks(home, *(DISKS if can_mount() else ())) as disks:
        private.disks = {disk.name: disk for disk in disks}
        try:
            print(f"\nprivate stack up in {private.up():.1f}s ({home})")
            yield private
        finally:
            private.down()
    if not os.environ.get("CARELEDGER_FAULTS_KEEP"):
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def topics(stack: PrivateStack) -> Iterator[dict[str, TopicReader]]:
    readers = {s: TopicReader(stack.info.kafka_bootstrap, f"careledger.{s}") for s in SERVICES}
    yield readers
    for reader in readers.values():
        reader.close()
