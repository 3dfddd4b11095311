"""The architecture as a test: one namespace, and imports that point one way (bot -> digests -> sources -> storage)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("storage", "sources", "digests", "bot")  # each may import itself and the layers before it
# The one exception: a data migration applies the importer's pure naming rules to stored rows.
DATA_MIGRATIONS = "storage/migrations/versions"
NAMING_RULES = ("sotabot.sources.normalise.taxonomy", "sotabot.sources.normalise.variants")
OLD_TOP_LEVEL = {"bot", "digests", "sources", "storage"}


def _modules(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import, including imports inside functions and TYPE_CHECKING blocks."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "sotabot" and len(parts) > 1 and parts[1] in LAYERS else None


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_itself_and_the_layers_below(layer: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules(layer)
        for line, module in _imports(path)
        if (target := _layer_of(module)) is not None and target not in allowed
        and not (DATA_MIGRATIONS in path.relative_to(ROOT).as_posix() and module.startswith(NAMING_RULES))
    ]
    assert wrong == []


def test_migrations_reach_no_further_into_sources_than_the_naming_rules() -> None:
    found = {
        module
        for path in (ROOT / DATA_MIGRATIONS).glob("*.py")
        for _, module in _imports(path)
        if _layer_of(module) not in (None, "storage")
    }
    assert all(module.startswith(NAMING_RULES) for module in found), found


@pytest.mark.parametrize("folder", [*LAYERS, "tests", "bench", "tools"])
def test_nothing_imports_the_old_top_level_packages(folder: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules(folder)
        for line, module in _imports(path)
        if module.split(".")[0] in OLD_TOP_LEVEL
    ]
    assert wrong == []


def test_storage_knows_nothing_of_chat_platforms() -> None:
    mentions = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules("storage")
        for line, module in _imports(path)
        if module.split(".")[0] in {"slack_bolt", "slack_sdk", "discord", "aiohttp"}
    ]
    assert mentions == []


def test_the_whole_product_imports_under_one_namespace_only() -> None:
    import importlib

    for path in (p for layer in LAYERS for p in _modules(layer)):
        rel = path.relative_to(ROOT).with_suffix("")
        if rel.name == "__main__" or "migrations" in rel.parts:
            continue
        parts = [p for p in rel.parts if p != "__init__"]
        importlib.import_module("sotabot." + ".".join(parts))
    assert OLD_TOP_LEVEL.isdisjoint(sys.modules), sorted(OLD_TOP_LEVEL & set(sys.modules))
