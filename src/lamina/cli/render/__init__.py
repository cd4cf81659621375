"""Everything the CLI prints, one module per command; human output only.

``--json`` output is not built here: each command prints its result's document
(:mod:`lamina.documents`) with :func:`emit_json`, in one place.
"""

from lamina.cli.render.backups import backup_taken, backups, restored, transfer
from lamina.cli.render.common import console, emit_json
from lamina.cli.render.create import created
from lamina.cli.render.diff import drift
from lamina.cli.render.health import health
from lamina.cli.render.history import history
from lamina.cli.render.lint import lint, rules
from lamina.cli.render.repair import checksums_accepted, repaired
from lamina.cli.render.runs import progress_printer, refusal_message, rollback, up
from lamina.cli.render.status import status, status_busy, validation
from lamina.cli.render.verify import verification, verify_progress

__all__ = [
    "backup_taken",
    "backups",
    "checksums_accepted",
    "console",
    "created",
    "drift",
    "emit_json",
    "health",
    "history",
    "lint",
    "progress_printer",
    "refusal_message",
    "repaired",
    "restored",
    "rollback",
    "rules",
    "status",
    "status_busy",
    "transfer",
    "up",
    "validation",
    "verification",
    "verify_progress",
]
