"""Meta-tests: the public surface, help for every command, and the layering rule."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import lamina
from lamina.cli import cli

SRC = Path(lamina.__file__).parent

# Lower levels never import higher ones (architecture.md, "Dependency direction").
LEVELS = {
    "lamina._version": 0,
    "lamina.errors": 0,
    "lamina.models": 0,
    "lamina.urls": 0,
    "lamina.sqlline": 0,
    "lamina.checksum": 1,
    "lamina.sqltext": 1,
    "lamina.migration": 1,
    "lamina.graph": 1,
    "lamina.catalog": 1,
    "lamina.planning": 1,
    "lamina.staticmeta": 1,
    "lamina.templates": 1,
    "lamina.diagram": 1,
    "lamina.risk": 1,
    "lamina.reach": 1,
    "lamina.backup": 2,
    "lamina.schema": 2,
    "lamina.scratch": 2,
    "lamina.discovery": 2,
    "lamina.loader": 2,
    "lamina.config": 2,
    "lamina.engines": 2,
    "lamina.history": 2,
    "lamina.runner": 2,
    "lamina.executors": 2,
    "lamina.settling": 2,
    "lamina.watchdog": 2,
    "lamina.signals": 2,
    "lamina.identity": 2,
    "lamina.safety": 3,
    "lamina.api": 3,
    "lamina.integration": 3,
    "lamina.health": 3,
    "lamina.documents": 3,
    "lamina.server": 3,
    "lamina.cli": 4,
    "lamina.testing": 4,
    "lamina.verify": 3,
    "lamina.__main__": 4,
    "lamina": 4,
}


def _level(module: str) -> int:
    while module not in LEVELS:
        module = module.rsplit(".", 1)[0]
    return LEVELS[module]


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return [name for name in found if name == "lamina" or name.startswith("lamina.")]


def test_all_is_sorted_and_complete() -> None:
    assert lamina.__all__ == sorted(lamina.__all__)
    for name in lamina.__all__:
        assert getattr(lamina, name) is not None


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: p.name)
def test_layering(path: Path) -> None:
    module = _module_name(path)
    if module == "lamina":
        return  # the package face re-exports from every level, lazily for the heavy ones
    own = _level(module)
    for imported in _imports(path):
        assert _level(imported) <= own, f"{module} (L{own}) imports {imported}"


def test_concrete_engines_are_imported_only_through_the_registry() -> None:
    """Outside ``engines/``, no module names an engine's folder: the registry's lazy paths do
    (adding an engine is one folder plus one registry line)."""
    folders = [p.name for p in (SRC / "engines").iterdir() if (p / "__init__.py").is_file()]
    assert sorted(folders) == ["duckdb", "mysql", "postgresql", "sqlite"]
    concrete = tuple(f"lamina.engines.{name}" for name in folders)
    for path in SRC.rglob("*.py"):
        module = _module_name(path)
        if module.startswith("lamina.engines."):
            continue
        for imported in _imports(path):
            assert not imported.startswith(concrete), f"{module} imports {imported}"


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help text"
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage: lamina" in result.output.replace("cli", "lamina")


def test_help_imports_no_driver_sqlglot_or_rich() -> None:
    code = (
        "import sys\n"
        "from lamina.cli import cli\n"
        "try:\n    cli.main(['--help'], prog_name='lamina')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('duckdb', 'sqlglot', 'rich', 'psycopg', 'pymysql', 'sqlite3')"
        " if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY=\n" in out, out
