"""lamina: safe, verified, fast database schema migrations for Python teams.

The public API::

    from lamina import Lamina, Migration, load_settings

``Migration`` is what migration files derive from; ``Lamina`` runs status, validate, up,
rollback, repair, history and create; every error lamina raises derives from ``LaminaError``.
The heavier names are imported on first use, so ``import lamina`` (done by every Python
migration file and by the CLI) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lamina._version import __version__
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
    TargetNotFoundError,
    ValidationError,
)
from lamina.migration import Migration
from lamina.models import Category, MigrationState, StatusReport

if TYPE_CHECKING:
    from lamina.api import Lamina, RepairResult, RollbackResult, UpResult, ValidationResult
    from lamina.config import Settings, load_settings

__all__ = [
    "BackendError",
    "BackendUnavailableError",
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
    "Settings",
    "StatusReport",
    "TargetNotFoundError",
    "UpResult",
    "ValidationError",
    "ValidationResult",
    "__version__",
    "load_settings",
]

_LAZY = {
    "Lamina": "lamina.api",
    "RepairResult": "lamina.api",
    "RollbackResult": "lamina.api",
    "UpResult": "lamina.api",
    "ValidationResult": "lamina.api",
    "Settings": "lamina.config",
    "load_settings": "lamina.config",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lamina' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
