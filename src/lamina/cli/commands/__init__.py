"""One function per command: read options, make one :class:`~lamina.api.Lamina` call, render.

No SQL and no business rules live here. Imports of the API and renderer happen inside each
command so that ``--help`` does not pay for them. The commands are grouped by family:
:mod:`.reading`, :mod:`.changing`, :mod:`.checking`, :mod:`.generating` and :mod:`.backups`.

This package imports none of them: :data:`COMMANDS` names each command's module and the first
paragraph of its help, so ``lamina --help`` lists them all without importing one, and running
a command (or asking for its own help) imports only its module. tests/cli/test_help_imports.py
checks each summary against its command's docstring.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

import click

__all__ = ["COMMANDS", "LazyCommands"]

#: name -> (module in this package, the command's attribute there, the first paragraph of
#: its help: what ``lamina --help`` shortens into the command's line).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "status": (
        "reading",
        "status",
        "Show applied, pending, modified, missing, failed and in-progress migrations, and the "
        "lock holder.",
    ),
    "validate": (
        "reading",
        "validate",
        "Check migration files: names, headers, imports, dependencies, checksums.",
    ),
    "lint": (
        "reading",
        "lint",
        "Assess the SQL of each migration, up and down, against the risk rules.",
    ),
    "create": ("changing", "create", "Write a new migration template and print its path."),
    "generate": (
        "generating",
        "generate",
        "Write the next migration: from the schema the migrations build to the one SOURCE has.",
    ),
    "up": (
        "changing",
        "up",
        "Apply pending migrations, each in its own transaction, showing each step's risk.",
    ),
    "backfill": (
        "backfilling",
        "backfill",
        "Run every backfill under way to its end, oldest first.",
    ),
    "rollback": (
        "changing",
        "rollback",
        "Revert every applied migration above VERSION, newest first.",
    ),
    "redo": (
        "changing",
        "redo",
        "Roll back the newest applied migration and apply it again: the edit-and-retry loop.",
    ),
    "history": (
        "reading",
        "history",
        "Show the audit log (applies, rollbacks, failures, forced actions), newest first.",
    ),
    "repair": (
        "changing",
        "repair",
        "Resolve a migration that failed half-way, or accept an edited applied file.",
    ),
    "backup": (
        "backups",
        "backup",
        "Back up the database, list backups, restore one (all or nothing).",
    ),
    "health": (
        "checking",
        "health",
        "Print the health document (what GET /api/health answers).",
    ),
    "graph": (
        "reading",
        "graph",
        "Draw the migrations and their dependencies, applied and pending marked.",
    ),
    "verify": (
        "checking",
        "verify",
        "Prove each down undoes its up, on a throw-away database (never the target).",
    ),
    "diff": (
        "checking",
        "diff_command",
        "Show how the live schema differs from what the last lamina run left (drift).",
    ),
    "check-schema": (
        "generating",
        "check_schema",
        "Exit 1 when the migrations do not build the schema SOURCE describes: the CI gate for a "
        "forgotten `lamina generate`. Lists each difference; the target is never opened.",
    ),
    "serve": (
        "checking",
        "serve",
        "Serve GET /api/health and /api/health/detailed over HTTP, as a sidecar.",
    ),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name, as click's ``Group.commands`` expects: every name is known
    from :data:`COMMANDS`, and a command's module is imported the first time it is looked up."""

    def __init__(self) -> None:
        self._entries: dict[str, click.Command | tuple[str, str, str]] = dict(COMMANDS)

    def __getitem__(self, name: str) -> click.Command:
        entry = self._entries[name]
        if isinstance(entry, click.Command):
            return entry
        module, attribute, _ = entry
        command: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        self._entries[name] = command
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def described(self, name: str) -> click.Command:
        """The command if its module is imported, else a stand-in of the same name and help
        summary, which click shortens into the same line of the group's help."""
        entry = self._entries[name]
        if isinstance(entry, click.Command):
            return entry
        return click.Command(name, help=entry[2])
