"""docs/architecture.md names the tree as it is: what it lists exists, no package is left out."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"


def listed_directories() -> set[str]:
    """The first word of each unindented line of the block under "## Directories"."""
    block = DOC.read_text().split("## Directories", 1)[1].split("```")[1]
    return {
        line.split()[0].rstrip("/")
        for line in block.splitlines()
        if line.strip() and not line[0].isspace()
    }


def test_the_architecture_page_lists_directories() -> None:
    assert {"services", "services/common", "contracts"} <= listed_directories()


def test_every_directory_the_architecture_page_lists_exists() -> None:
    missing = sorted(d for d in listed_directories() if not (ROOT / d).is_dir())
    assert not missing, f"docs/architecture.md lists directories that do not exist: {missing}"


def test_every_package_under_services_is_on_the_architecture_page() -> None:
    packages = {
        init.parent.relative_to(ROOT).as_posix()
        for init in (ROOT / "services").rglob("__init__.py")
    }
    unlisted = sorted(packages - listed_directories())
    assert not unlisted, f"packages docs/architecture.md does not list: {unlisted}"
