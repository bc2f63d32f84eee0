"""`contracts/schemas.lock`: the sha256 of every released schema file (`sha256sum` format).

A released schema never changes. `python -m contracts.lock --update` adds new schema files to the
lock and refuses when a released file changed or disappeared; `--check` (the default) lists every
difference and exits non-zero when there is one. From `contracts/schemas`, `sha256sum -c
../schemas.lock` checks the same thing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer

from contracts.schemas import SCHEMA_ROOT, SchemaRegistry

LOCK_PATH = SCHEMA_ROOT.parent / "schemas.lock"
UPDATE_HINT = "python -m contracts.lock --update"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def current_digests(registry: SchemaRegistry) -> dict[str, str]:
    """relative path -> sha256 of every schema file under the registry's root."""
    return {c.relative_path: file_digest(registry.path(c)) for c in registry.contracts()}


def read_lock(path: Path = LOCK_PATH) -> dict[str, str]:
    if not path.exists():
        return {}
    locked: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            locked[name.strip()] = digest
    return locked


def write_lock(digests: dict[str, str], path: Path = LOCK_PATH) -> None:
    lines = [f"{digest}  {name}" for name, digest in sorted(digests.items())]
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


def released_changes(current: dict[str, str], locked: dict[str, str]) -> list[str]:
    """Released files that changed or disappeared: never allowed."""
    problems = []
    for name, digest in sorted(locked.items()):
        if name not in current:
            problems.append(f"{name} is released but was removed: restore it")
        elif current[name] != digest:
            problems.append(
                f"{name} is released and must never change: restore it and add the change as "
                "a new version (class_version + 1, upcaster, a new <Event>.v<N+1>.json)"
            )
    return problems


def unreleased(current: dict[str, str], locked: dict[str, str]) -> list[str]:
    """Schema files not in the lock yet."""
    return [
        f"{name} is not in contracts/schemas.lock: run `{UPDATE_HINT}` to release it"
        for name in sorted(set(current) - set(locked))
    ]


def check(registry: SchemaRegistry | None = None, lock_path: Path = LOCK_PATH) -> list[str]:
    """Every difference between the schema files and the lock (empty: they agree)."""
    current = current_digests(registry or SchemaRegistry())
    locked = read_lock(lock_path)
    return released_changes(current, locked) + unreleased(current, locked)


def update(registry: SchemaRegistry | None = None, lock_path: Path = LOCK_PATH) -> list[str]:
    """Add new files to the lock; returns those added. Raises if a released file changed."""
    current = current_digests(registry or SchemaRegistry())
    locked = read_lock(lock_path)
    problems = released_changes(current, locked)
    if problems:
        raise ValueError("\n".join(problems))
    added = sorted(set(current) - set(locked))
    write_lock({**locked, **{name: current[name] for name in added}}, lock_path)
    return added


def main(
    do_update: bool = typer.Option(False, "--update", help="Release new schema files."),
) -> None:
    """Check the schema files against contracts/schemas.lock (or release new ones)."""
    if do_update:
        try:
            added = update()
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        typer.echo(f"released: {', '.join(added) or 'nothing new'}")
        return
    problems = check()
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("contracts/schemas.lock matches every schema file")


if __name__ == "__main__":
    typer.run(main)
