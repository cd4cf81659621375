"""lamina: safe, verified, fast database schema migrations for Python teams.

The public API::

    from lamina import Lamina, Migration, load_settings

``Migration`` is what migration files derive from; ``Lamina`` runs status, validate, lint, up,
rollback, repair, history, create, backups, drift, health, verify and startup; the module-level
``startup()`` is the application's startup step and ``health.check()`` its health document
(both also ``Lamina`` methods); every error lamina raises derives from ``LaminaError``.
Every name is imported on first use, so ``import lamina`` (done by every Python migration file
and by the CLI, even for ``--help``) costs nothing until a name is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lamina._version import __version__

if TYPE_CHECKING:
    from lamina import health
    from lamina.api import Lamina, RepairResult, RollbackResult, UpResult, ValidationResult
    from lamina.config import Settings, load_settings
    from lamina.errors import (
        BackendError,
        BackendUnavailableError,
        ChecksumMismatchError,
        ConfigError,
        DirtyDatabaseError,
        ExecutionError,
        HistoryError,
        IrreversibleMigrationError,
        LaminaError,
        LockLostError,
        LockTimeoutError,
        MigrationError,
        MigrationLoadError,
        OutOfOrderError,
        PlanError,
        RiskRefusedError,
        RunInProgressError,
        StartupError,
        StatementError,
        TargetNotFoundError,
        TimeLimitError,
        UsageError,
        ValidationError,
        VerifyRefusedError,
    )
    from lamina.integration import StartupResult, startup
    from lamina.migration import BatchedMigration, Migration
    from lamina.models import Category, MigrationState, StatusReport

__all__ = [
    "BackendError",
    "BackendUnavailableError",
    "BatchedMigration",
    "Category",
    "ChecksumMismatchError",
    "ConfigError",
    "DirtyDatabaseError",
    "ExecutionError",
    "HistoryError",
    "IrreversibleMigrationError",
    "Lamina",
    "LaminaError",
    "LockLostError",
    "LockTimeoutError",
    "Migration",
    "MigrationError",
    "MigrationLoadError",
    "MigrationState",
    "OutOfOrderError",
    "PlanError",
    "RepairResult",
    "RiskRefusedError",
    "RollbackResult",
    "RunInProgressError",
    "Settings",
    "StartupError",
    "StartupResult",
    "StatementError",
    "StatusReport",
    "TargetNotFoundError",
    "TimeLimitError",
    "UpResult",
    "UsageError",
    "ValidationError",
    "ValidationResult",
    "VerifyRefusedError",
    "__version__",
    "health",
    "load_settings",
    "startup",
]

_LAZY = {
    "BackendError": "lamina.errors",
    "BackendUnavailableError": "lamina.errors",
    "ChecksumMismatchError": "lamina.errors",
    "ConfigError": "lamina.errors",
    "DirtyDatabaseError": "lamina.errors",
    "ExecutionError": "lamina.errors",
    "HistoryError": "lamina.errors",
    "IrreversibleMigrationError": "lamina.errors",
    "LaminaError": "lamina.errors",
    "LockLostError": "lamina.errors",
    "LockTimeoutError": "lamina.errors",
    "MigrationError": "lamina.errors",
    "MigrationLoadError": "lamina.errors",
    "OutOfOrderError": "lamina.errors",
    "PlanError": "lamina.errors",
    "RiskRefusedError": "lamina.errors",
    "StartupError": "lamina.errors",
    "TargetNotFoundError": "lamina.errors",
    "ValidationError": "lamina.errors",
    "RunInProgressError": "lamina.errors",
    "StatementError": "lamina.errors",
    "TimeLimitError": "lamina.errors",
    "UsageError": "lamina.errors",
    "VerifyRefusedError": "lamina.errors",
    "Migration": "lamina.migration",
    "BatchedMigration": "lamina.migration",
    "Category": "lamina.models",
    "MigrationState": "lamina.models",
    "StatusReport": "lamina.models",
    "Lamina": "lamina.api",
    "RepairResult": "lamina.api",
    "RollbackResult": "lamina.api",
    "UpResult": "lamina.api",
    "ValidationResult": "lamina.api",
    "Settings": "lamina.config",
    "load_settings": "lamina.config",
    "StartupResult": "lamina.integration",
    "startup": "lamina.integration",
}
#: Submodules reachable as attributes (``lamina.health.check(...)``) without an import.
_LAZY_MODULES = frozenset({"health"})


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"lamina.{name}")
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lamina' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
