"""Meta-tests: the public surface, help for every command, and the layering rule."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import lamina
from lamina.cli import cli

SRC = Path(lamina.__file__).parent

#: The living map: docs/architecture.md's module map gives every module's level.
ARCHITECTURE = SRC.parent.parent / "docs" / "architecture.md"
_ROW = re.compile(r"^\| `(lamina[\w.]*)` \| (\d) \|", re.MULTILINE)


def _levels_from_the_map() -> dict[str, int]:
    """{module: level} from the map's rows; a submodule takes its package's level."""
    return {name: int(level) for name, level in _ROW.findall(ARCHITECTURE.read_text("utf-8"))}


# Lower levels never import higher ones (docs/architecture.md, "The rules").
LEVELS = _levels_from_the_map()


def test_the_map_has_a_row_for_every_top_level_module() -> None:
    """A module or package added under src/lamina without a row in the map fails here, and a
    row for something that no longer exists too: the map stays the house as it stands."""
    present = {"lamina"} | {
        f"lamina.{p.stem if p.is_file() else p.name}"
        for p in SRC.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert set(LEVELS) == present


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


def test_every_error_lamina_raises_can_be_caught_from_the_package() -> None:
    import inspect

    from lamina import errors

    raised = {
        name
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.LaminaError) and cls.__module__ == errors.__name__
    }
    assert raised - set(lamina.__all__) == set()


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: p.name)
def test_layering(path: Path) -> None:
    module = _module_name(path)
    if module == "lamina":
        return  # the package face re-exports from every level, lazily for the heavy ones
    own = _level(module)
    for imported in _imports(path):
        assert _level(imported) <= own, f"{module} (L{own}) imports {imported}"


#: The facade of level 3: ``lamina.api`` (the ``Lamina`` class).
FACADE = "lamina.api"
#: Level-3 modules anyone at level 3 may import: records' ``to_document()`` build their JSON
#: there, and it imports no level-3 module itself outside ``TYPE_CHECKING``.
SHARED = {FACADE, "lamina.documents"}
#: Level-3 imports that bypass the facade, each for a reason.
BESIDE_THE_FACADE = {
    # the HTTP face of the health document: its component name and status codes
    ("lamina.server", "lamina.health"),
}


def _runtime_imports(path: Path) -> list[str]:
    """:func:`_imports`, leaving out ``if TYPE_CHECKING:`` blocks (annotations only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            node.body = []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return [name for name in found if name == "lamina" or name.startswith("lamina.")]


def _group(module: str) -> str:
    """The top-level unit a module belongs to (``lamina.api.migrate`` -> ``lamina.api``)."""
    return ".".join(module.split(".")[:2])


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: p.name)
def test_level_three_meets_only_through_the_facade(path: Path) -> None:
    """Level-3 modules use one another only through ``lamina.api``: health, verify, startup
    and the server ask ``Lamina``; the facade alone delegates to them, and the api package's
    own modules import each other, ``lamina.documents`` and lower levels only."""
    module = _module_name(path)
    if module == "lamina" or _level(module) != 3:
        return
    for imported in _runtime_imports(path):
        if _level(imported) != 3 or _group(imported) == _group(module):
            continue
        allowed = imported in SHARED or module == FACADE  # the facade delegates
        assert allowed or (module, imported) in BESIDE_THE_FACADE, f"{module} imports {imported}"


def test_concrete_engines_are_imported_only_through_the_registry() -> None:
    """Outside ``engines/``, no module names an engine's folder: the registry's lazy paths do
    (adding an engine is one folder plus one registry line)."""
    from lamina.engines import ENGINES

    folders = [p.name for p in (SRC / "engines").iterdir() if (p / "__init__.py").is_file()]
    assert sorted(folders) == sorted(ENGINES)  # the engine set comes from the registry
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


def test_status_loads_neither_the_runner_nor_the_risk_rules(tmp_path: Path) -> None:
    """docs/performance.md: `status` reads files and history; the runner, the safety checks,
    the loader's Python imports and the risk catalogue are for `up`, `rollback` and `lint`."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_a.sql").write_text("-- migrate:up\nCREATE TABLE a (id INTEGER);\n")
    code = (
        "import sys\n"
        "from lamina.cli import cli\n"
        "try:\n    cli.main(['status'], prog_name='lamina')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('lamina.runner', 'lamina.safety', 'lamina.risk', 'sqlglot')"
        " if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LAMINA_")},
        "DATABASE_URL": f"duckdb:///{tmp_path / 'a.duckdb'}",
        "LAMINA_MIGRATIONS_DIR": str(folder),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert "HEAVY=\n" in out, out


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_over_400_lines_and_no_class_over_250(path: Path) -> None:
    """docs/architecture.md, "Size": small modules with one job, classes that fit in a head."""
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 400
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            assert node.end_lineno - node.lineno + 1 <= 250, node.name
