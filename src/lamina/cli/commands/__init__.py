"""One function per command: read options, make one :class:`~lamina.api.Lamina` call, render.

No SQL and no business rules live here. Imports of the API and renderer happen inside each
command so that ``--help`` does not pay for them. The commands are grouped by family:
:mod:`.reading`, :mod:`.changing`, :mod:`.checking`, :mod:`.generating` and :mod:`.backups`.
"""

from __future__ import annotations

from lamina.cli.commands.backfilling import backfill
from lamina.cli.commands.backups import backup
from lamina.cli.commands.changing import create, redo, repair, rollback, up
from lamina.cli.commands.checking import diff_command, health, serve, verify
from lamina.cli.commands.generating import check_schema, generate
from lamina.cli.commands.reading import graph, history, lint, status, validate

__all__ = ["COMMANDS"]

COMMANDS = (
    status,
    validate,
    lint,
    create,
    generate,
    up,
    backfill,
    rollback,
    redo,
    history,
    repair,
    backup,
    health,
    graph,
    verify,
    diff_command,
    check_schema,
    serve,
)
