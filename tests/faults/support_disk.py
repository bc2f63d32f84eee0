"""File systems of their own for the private stack's data (loop-mounted ext4), and ballast.

`careledger stack up` puts PostgreSQL's data under `<home>/pg` and the broker's log dir under
`<home>/kafka`; moving each onto a small file system of its own (with the stack down) lets a test
fill exactly one of them. Needs root and loop devices; `loop_devices_missing` says why not.
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
PROBE_MB = 8


def loop_devices_missing() -> str | None:
    """Why no loop-mounted file system can be made here, or None when one can (a real probe)."""
    if os.geteuid() != 0:
        return "mounting a file system of its own needs root"
    if shutil.which("mkfs.ext4") is None:
        return "mkfs.ext4 is not installed"
    with tempfile.TemporaryDirectory(prefix="careledger-probe-") as probe:
        try:
            with _mounted(Path(probe) / "probe.img", Path(probe) / "mnt", PROBE_MB):
                return None
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", b"") or b""
            return f"no loop device can be mounted: {error} {detail.decode(errors='replace')}"


@contextlib.contextmanager
def own_disks(home: Path, *names: str) -> Iterator[dict[str, Path]]:
    """Move `<home>/<name>` onto a fresh ext4 of DISK_MB mounted there, for each name.

    Call with the stack down. On exit each is unmounted (its data goes with it).
    """
    images = Path(tempfile.mkdtemp(prefix="careledger-disks-"))
    try:
        with contextlib.ExitStack() as mounted:
            for name in names:
                mounted.enter_context(_moved_onto_own_disk(home / name, images / f"{name}.img"))
            yield {name: home / name for name in names}
    finally:
        shutil.rmtree(images, ignore_errors=True)


@contextlib.contextmanager
def _moved_onto_own_disk(path: Path, image: Path) -> Iterator[None]:
    aside = path.with_name(f"{path.name}.before-own-disk")
    path.mkdir(parents=True, exist_ok=True)
    path.rename(aside)
    try:
        with _mounted(image, path, DISK_MB):
            _run("cp", "-a", f"{aside}/.", str(path))  # owners and modes too (PostgreSQL's 0700)
            shutil.rmtree(aside)
            yield
    finally:
        if aside.exists():  # the mount failed: put the data back where it was
            path.rmdir()
            aside.rename(path)


@contextlib.contextmanager
def _mounted(image: Path, mount: Path, megabytes: int) -> Iterator[None]:
    with image.open("wb") as out:
        out.truncate(megabytes * 1024 * 1024)
    _run("mkfs.ext4", "-q", "-m", "0", "-F", str(image))  # no blocks reserved for root
    mount.mkdir(parents=True, exist_ok=True)
    _run("mount", "-o", "loop", str(image), str(mount))
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=60)
        image.unlink(missing_ok=True)


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
