"""One private stack (all services as real processes) shared by the fault tests of a session.

`careledger stack up` under a temporary CARELEDGER_HOME; `stack down` (and SIGKILL of any
recorded pid left) in the finalizer, whatever happens. Only the disk tests ask for `disks`,
which moves the stack's data onto file systems of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support_disk import loop_devices_missing, own_disks
from tests.faults.support_stack import SERVICES, PrivateStack, TopicReader

DISKS = ("pg", "kafka")


@pytest.fixture(scope="session")
def stack() -> Iterator[PrivateStack]:
    """Set CARELEDGER_FAULTS_KEEP=1 to keep the stack's home (logs, data) for a post-mortem."""
    home = Path(tempfile.mkdtemp(prefix="careledger-faults-"))
    private = PrivateStack(home)
    with contextlib.ExitStack() as unmount:  # closed once the stack is down
        private.mounts = unmount
        try:
            print(f"\nprivate stack up in {private.up():.1f}s ({home})")
            yield private
        finally:
            private.down()
    if not os.environ.get("CARELEDGER_FAULTS_KEEP"):
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def disks(stack: PrivateStack) -> dict[str, Path]:
    """PostgreSQL's data and the broker's log dir, each moved onto a file system of its own."""
    if reason := loop_devices_missing():
        pytest.skip(f"the disk tests fill a loop-mounted file system: {reason}")
    stack.down()
    mounts = stack.mounts.enter_context(own_disks(stack.home, *DISKS))
    print(f"\nown file systems for {', '.join(DISKS)}; stack up again in {stack.up():.1f}s")
    return mounts


@pytest.fixture(scope="session")
def topics(stack: PrivateStack) -> Iterator[dict[str, TopicReader]]:
    readers = {s: TopicReader(stack.info.kafka_bootstrap, f"careledger.{s}") for s in SERVICES}
    yield readers
    for reader in readers.values():
        reader.close()
