"""The records every layer shares: immutable, typed, and free of behaviour beyond formatting.

:mod:`.records` holds the migrations, history rows, problems, the lock holder and statements;
:mod:`.status` what ``status`` reports. Both are re-exported here: import from ``lamina.models``.
"""

from __future__ import annotations

from lamina.models.records import (
    DOCUMENT_SCHEMA_VERSION,
    AppliedMigration,
    AuditAction,
    AuditEvent,
    Category,
    Direction,
    LockOwner,
    MigrationFile,
    MigrationKind,
    MigrationMeta,
    MigrationState,
    Problem,
    RowState,
    Severity,
    StatementRecord,
    errors_in,
    warnings_in,
)
from lamina.models.status import MigrationStatus, StatusReport

__all__ = [
    "DOCUMENT_SCHEMA_VERSION",
    "AppliedMigration",
    "AuditAction",
    "AuditEvent",
    "Category",
    "Direction",
    "LockOwner",
    "MigrationFile",
    "MigrationKind",
    "MigrationMeta",
    "MigrationState",
    "MigrationStatus",
    "Problem",
    "RowState",
    "Severity",
    "StatementRecord",
    "StatusReport",
    "errors_in",
    "warnings_in",
]
