"""Shell completion (docs/cli.md) and ``lamina --version``: run as real processes."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lamina import __version__
from support.processes import SRC, child_env

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"
VENV_BIN = Path(sys.executable).parent


def lamina(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lamina", *args],
        env=env or child_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


# -- completion -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shell", "marks"),
    [
        ("bash", ["_lamina_completion()", "complete -o nosort -F _lamina_completion lamina"]),
        ("zsh", ["#compdef lamina", "compdef _lamina_completion lamina"]),
        ("fish", ["function _lamina_completion", "complete --no-files --command lamina"]),
    ],
)
def test_the_completion_script_is_printed(shell: str, marks: list[str]) -> None:
    done = lamina(env=child_env(_LAMINA_COMPLETE=f"{shell}_source"))
    assert done.returncode == 0, done.stderr
    for mark in marks:
        assert mark in done.stdout
    assert f"_LAMINA_COMPLETE={shell}_complete" in done.stdout  # it asks lamina on each Tab
    assert f"_LAMINA_COMPLETE={shell}_source lamina" in DOCS.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.skipif(not (VENV_BIN / "lamina").exists(), reason="no lamina console script")
@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["lamina", "st"], {"status"}),
        (["lamina", "up", "--dr"], {"--dry-run"}),
        (["lamina", "graph", "--format", ""], {"mermaid", "dot", "text"}),
    ],
    ids=["command", "option", "choice"],
)
def test_bash_completes_as_the_docs_say(words: list[str], expected: set[str]) -> None:
    """The line docs/cli.md tells bash users to add, in a real bash, then one Tab."""
    line = 'eval "$(_LAMINA_COMPLETE=bash_source lamina)"'
    assert line in DOCS.read_text(encoding="utf-8")
    quoted = " ".join(f'"{word}"' for word in words)
    script = (
        f"{line}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
        '_lamina_completion lamina\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = child_env(PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == expected


# -- --version --------------------------------------------------------------------------------
def _rows(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines()[1:]:
        name, _, value = line.strip().partition(" ")
        rows[name] = value.strip()
    return rows


def test_version_names_python_the_libraries_and_the_drivers() -> None:
    import duckdb
    import psycopg
    import pymysql

    done = lamina("--version")
    assert done.returncode == 0, done.stderr
    first, *_ = done.stdout.splitlines()
    assert first == f"lamina, version {__version__}"  # as click prints it: scripts read it
    rows = _rows(done.stdout)
    assert rows["python"] == f"{platform.python_version()} ({platform.python_implementation()})"
    assert rows["click"] == importlib.metadata.version("click")
    assert rows["duckdb"] == duckdb.__version__
    assert rows["sqlite"].startswith(f"{sqlite3.sqlite_version} ")
    libpq = psycopg.pq.version()
    assert rows["psycopg"] == (
        f"{psycopg.__version__}, {psycopg.pq.__impl__}, libpq {libpq // 10000}.{libpq % 100}"
    )
    assert rows["PyMySQL"] == pymysql.VERSION_STRING
    sqlglot = importlib.metadata.version("sqlglot")
    try:  # sqlglotc overlays compiled modules on sqlglot's: installed means in use
        compiled = f"compiled (sqlglotc {importlib.metadata.version('sqlglotc')})"
        assert rows["sqlglot"] == f"{sqlglot}, {compiled}"
    except importlib.metadata.PackageNotFoundError:
        assert rows["sqlglot"].startswith(f"{sqlglot}, pure Python")


def test_what_is_not_installed_says_so(tmp_path: Path) -> None:
    """A Python that has only click (and lamina's source) on its path: no site-packages."""
    click_dir = Path(importlib.metadata.distribution("click").locate_file("click"))
    (tmp_path / "click").symlink_to(click_dir)
    dist_info = next(click_dir.parent.glob("click-*.dist-info"))
    (tmp_path / dist_info.name).symlink_to(dist_info)
    code = (
        f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {str(SRC)!r}]\n"
        "from lamina.cli import main\nsys.argv = ['lamina', '--version']\nmain()\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env=child_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = _rows(done.stdout)
    assert rows["click"] == importlib.metadata.version("click")
    for name in ("rich", "sqlglot", "duckdb", "psycopg", "PyMySQL", "starlette", "uvicorn"):
        assert rows[name] == "not installed", name


def test_plain_commands_do_not_read_the_versions() -> None:
    code = (
        "import sys\nfrom lamina.cli import cli\n"
        "try:\n    cli.main(['status', '--help'], prog_name='lamina')\n"
        "except SystemExit:\n    pass\n"
        "print('LOADED=' + ','.join(m for m in ('lamina.cli.versions', 'psycopg', 'pymysql')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=child_env(), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "LOADED=\n" in done.stdout, done.stdout


def test_a_driver_that_cannot_be_loaded_says_why() -> None:
    pytest.importorskip("psycopg")
    done = lamina("--version", env=child_env(PSYCOPG_IMPL="c"))  # psycopg_c is not installed
    if importlib.util.find_spec("psycopg_c") is not None:
        pytest.skip("psycopg's C implementation is installed here")
    assert done.returncode == 0, done.stderr
    assert _rows(done.stdout)["psycopg"].startswith(
        f"{importlib.metadata.version('psycopg')}, cannot be loaded: "
    )
