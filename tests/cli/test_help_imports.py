"""``lamina --help`` imports click and lamina's CLI package, no command module, no library code
(docs/performance.md, W3), and still lists every command as click would from its docstring."""

from __future__ import annotations

import shutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from lamina.cli import LaminaGroup, _help_width, cli
from lamina.cli.commands import COMMANDS, LazyCommands
from support.processes import child_env

# Runs ``lamina ARGS`` as ``python -m lamina`` does, then names every module it imported.
_MODULES_AFTER = """
import runpy, sys
sys.argv = ["lamina", *sys.argv[1:]]
try:
    runpy.run_module("lamina", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
sys.stderr.write("\\n".join(sorted(sys.modules)))
"""

# A bare click group's --help: the modules click itself (and ``-m``) needs to print help.
_CLICK_ALONE = """
import runpy, sys
import click
group = click.Group("tool", commands=[click.Command("one", help="One.")])
try:
    group.main(["--help"])
except SystemExit:
    pass
sys.stderr.write("\\n".join(sorted(sys.modules)))
"""


def _modules(code: str, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=child_env(), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return set(done.stderr.split())


def test_top_level_help_needs_nothing_beyond_click() -> None:
    loaded = _modules(_MODULES_AFTER, "--help")
    extra = loaded - _modules(_CLICK_ALONE)
    assert extra - {"lamina.__main__"} <= {
        "gc",  # built into the interpreter: main() sets its thresholds
        "lamina",
        "lamina._version",
        "lamina.cli",
        "lamina.cli.commands",
    }
    assert "shutil" not in loaded - _modules(
        "import sys; sys.stderr.write('\\n'.join(sys.modules))"
    )


def test_a_command_help_imports_only_its_module() -> None:
    loaded = _modules(_MODULES_AFTER, "up", "--help")
    commands = {m for m in loaded if m.startswith("lamina.cli.commands.")}
    assert commands == {"lamina.cli.commands.changing", "lamina.cli.commands._shared"}
    heavy = ("lamina.api", "lamina.engines", "lamina.cli.render", "rich", "sqlglot")
    assert not [m for m in loaded if m.startswith(heavy)]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_its_command_docstring_first_paragraph(name: str) -> None:
    command = LazyCommands()[name]
    assert isinstance(command, click.Command)
    assert command.name == name
    assert not command.hidden and not command.deprecated and not command.short_help
    assert command.help is not None
    first = " ".join(command.help.split("\n\n")[0].split())
    assert COMMANDS[name][2] == first


def _group(commands: LazyCommands | dict[str, click.Command]) -> LaminaGroup:
    """``cli`` with its own command mapping, so loading commands here leaves ``cli`` alone."""
    return LaminaGroup(
        name="lamina",
        commands=commands,
        params=cli.params,
        callback=cli.callback,
        invoke_without_command=True,
        context_settings=cli.context_settings,
    )


@pytest.mark.parametrize("width", [50, 60, 72, 80, 98, 120, 200])
def test_listing_from_summaries_is_clicks_own(width: int) -> None:
    lazy = _group(LazyCommands())
    from_summaries = CliRunner().invoke(lazy, ["--help"], terminal_width=width)
    assert from_summaries.exit_code == 0, from_summaries.output
    loaded = dict(LazyCommands().items())  # every command imported
    from_commands = CliRunner().invoke(_group(loaded), ["--help"], terminal_width=width)
    assert from_summaries.output == from_commands.output
    listing = from_summaries.output.split("Commands:\n", 1)[1]
    assert [line.split()[0] for line in listing.splitlines()] == sorted(COMMANDS)


class _Watched(LazyCommands):
    """Records which commands are looked up (and so imported)."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_up: list[str] = []

    def __getitem__(self, name: str) -> click.Command:
        self.looked_up.append(name)
        return super().__getitem__(name)


def test_group_lists_commands_without_looking_them_up() -> None:
    commands = _Watched()
    result = CliRunner().invoke(_group(commands), ["--help"])
    assert result.exit_code == 0, result.output
    assert commands.looked_up == []
    CliRunner().invoke(_group(commands), ["status", "--help"])
    assert commands.looked_up == ["status"]


def test_an_unknown_command_still_gets_suggestions() -> None:
    result = CliRunner().invoke(cli, ["statu"])
    assert result.exit_code == 2
    assert "Did you mean 'status'?" in result.output


@pytest.mark.parametrize("columns", [None, "", "0", "-3", "wide", "30", "72", "99", "150"])
def test_help_width_is_the_one_click_finds_with_shutil(
    columns: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    for most in (None, 60, 100):
        expected = max(min(shutil.get_terminal_size().columns, most or 80) - 2, 50)
        assert _help_width(most) == expected
