"""contracts/schemas.lock pins every released schema file: released files never change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.lock import UPDATE_HINT, check, update
from contracts.schemas import SchemaRegistry


def test_schemas_lock_matches_every_schema_file() -> None:
    problems = check()
    assert not problems, "\n".join(problems)


@pytest.fixture
def registry(tmp_path: Path) -> SchemaRegistry:
    (tmp_path / "schemas" / "plan").mkdir(parents=True)
    (tmp_path / "schemas" / "plan" / "PlanCreated.v1.json").write_text('{"type": "object"}')
    return SchemaRegistry(tmp_path / "schemas")


def test_a_new_schema_file_fails_the_check_until_it_is_released(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    lock = tmp_path / "schemas.lock"
    [problem] = check(registry, lock)
    assert "plan/PlanCreated.v1.json is not in contracts/schemas.lock" in problem
    assert UPDATE_HINT in problem
    assert update(registry, lock) == ["plan/PlanCreated.v1.json"]
    assert check(registry, lock) == []


def test_a_changed_released_schema_fails_the_check_and_cannot_be_released_again(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    lock = tmp_path / "schemas.lock"
    update(registry, lock)
    path = registry.root / "plan" / "PlanCreated.v1.json"
    path.write_text(json.dumps({"type": "object", "required": ["id"]}))
    [problem] = check(registry, lock)
    assert "released and must never change" in problem
    with pytest.raises(ValueError, match="must never change"):
        update(registry, lock)


def test_a_removed_released_schema_fails_the_check(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    lock = tmp_path / "schemas.lock"
    update(registry, lock)
    (registry.root / "plan" / "PlanCreated.v1.json").unlink()
    assert check(registry, lock) == [
        "plan/PlanCreated.v1.json is released but was removed: restore it"
    ]
