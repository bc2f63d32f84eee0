"""File systems of their own for the private stack's data (loop-mounted ext4), and ballast.

`careledger stack up` puts PostgreSQL's data under `<home>/pg` and the broker's log dir under
`<home>/kafka`; mounting a small file system at each before the stack starts lets a test fill
exactly one of them. Needs root (mount); without it the disk tests skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SLACK = 4 * 1024 * 1024
DISK_MB = 2048  # sparse images: only what is written takes room on the host


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mkfs.ext4") is not None


@contextlib.contextmanager
def own_disks(home: Path, *names: str) -> Iterator[list[Path]]:
    """A loop-mounted ext4 of DISK_MB at `<home>/<name>` for each name; unmounted after."""
    images = Path(tempfile.mkdtemp(prefix="careledger-disks-"))
    mounted: list[Path] = []
    try:
        for name in names:
            image, mount = images / f"{name}.img", home / name
            mount.mkdir(parents=True, exist_ok=True)
            with image.open("wb") as out:
                out.truncate(DISK_MB * 1024 * 1024)
            _run("mkfs.ext4", "-q", "-m", "0", "-F", str(image))  # no blocks reserved for root
            _run("mount", "-o", "loop", str(image), str(mount))
            mounted.append(mount)
        yield mounted
    finally:
        for mount in reversed(mounted):
            subprocess.run(["umount", "-l", str(mount)], check=False, timeout=60)
        shutil.rmtree(images, ignore_errors=True)


@contextlib.contextmanager
def full(mount: Path) -> Iterator[Path]:
    """Fill the file system at `mount` to the last block, then free it again."""
    ballast, rest = mount / "ballast", mount / "ballast-rest"
    free = shutil.disk_usage(mount).free - SLACK  # the extents' own metadata takes blocks too
    _run("fallocate", "-l", str(free - free % 4096), str(ballast))
    try:
        with contextlib.suppress(OSError), rest.open("wb", buffering=0) as out:
            while True:  # the last blocks, one at a time, until the file system refuses
                out.write(b"\0" * 4096)
                os.fsync(out.fileno())
        yield ballast
    finally:
        ballast.unlink(missing_ok=True)
        rest.unlink(missing_ok=True)


def _run(*cmd: str) -> None:
    subprocess.run(list(cmd), check=True, capture_output=True, timeout=120)
