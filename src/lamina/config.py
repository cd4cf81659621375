"""Settings, resolved once: command-line flag > environment > config file > default.

The config file is ``lamina.toml`` in the working directory, else ``[tool.lamina]`` in its
``pyproject.toml``. Every value remembers where it came from, so an unusable one is reported as
"DATABASE_URL (environment): ..." and the user knows exactly what to fix.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamina.errors import ConfigError, UsageError
from lamina.urls import DatabaseURL, URLError, parse_url

__all__ = ["DEFAULT_DATABASE_URL", "Origin", "Settings", "load_settings"]

DEFAULT_DATABASE_URL = "duckdb:///./app.duckdb"
#: What a table-mode lock row outlives the migration time limit by, by default.
LOCK_TTL_MARGIN_S = 60.0
LOCK_MODES = ("session", "table")
#: What the backup before a risky run holds: everything, or the tables the run touches.
BACKUP_SCOPES = ("database", "touched")
DEFAULT_MAX_MIGRATION_TIME_MS = 300_000


@dataclass(frozen=True, slots=True)
class Origin:
    """Which setting a value came from and where it was set: ``DATABASE_URL`` / ``environment``."""

    setting: str
    source: str = "default"

    def __str__(self) -> str:
        return f"{self.setting} ({self.source})"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a lamina command needs to know, with the origin of the key values.

    Build it with :func:`load_settings`; tests and applications may also construct it directly.
    """

    database_url: DatabaseURL
    migrations_dir: Path
    env: str = "development"
    lock_timeout_s: float = 60.0
    strict_order: bool = False
    require_confirmation: bool = True
    max_migration_time_ms: int = DEFAULT_MAX_MIGRATION_TIME_MS
    #: How long a migration statement waits for a table lock (PostgreSQL lock_timeout, MySQL
    #: lock_wait_timeout); 0 waits forever.
    table_lock_timeout_ms: int = 10_000
    #: How server engines hold the migration lock: the engine's session lock, or a heartbeat
    #: row for poolers in transaction mode (see :mod:`lamina.engines.server`).
    lock_mode: str = "session"
    #: Table mode: how long a lock row outlives its last heartbeat. None means the migration
    #: time limit plus :data:`LOCK_TTL_MARGIN_S`.
    lock_ttl_s: float | None = None
    #: Take one backup before a run that has risky (danger-level) steps; in production a
    #: failed backup stops the run before its first step.
    backup_enabled: bool = True
    backup_dir: Path = Path(".lamina/backups")
    #: How many backups to keep (oldest removed first); None keeps every one.
    backup_keep: int | None = 10
    #: What a run's backup holds: "database" (everything) or "touched" (the tables the run
    #: changes plus lamina's history: fast on a big database; the whole database whenever
    #: the statements do not say which tables).
    backup_scope: str = "database"
    #: lamina.startup(): apply pending migrations (under the migration lock) at startup.
    auto_migrate: bool = False
    #: lamina.startup() with pending risky steps that need confirmation: "fail" stops the
    #: application, "degraded" lets it start without them (health says degraded).
    startup_on_risk: str = "fail"
    #: Bearer token the detailed health endpoint requires (None: no token needed).
    health_token: str | None = field(default=None, repr=False)
    database_origin: Origin = Origin("database URL")
    migrations_dir_origin: Origin = Origin("migrations folder")
    #: Load Python migrations even from a file or folder that other users may write to
    #: (anyone who can write there could run code as the user running lamina).
    allow_unsafe_migrations: bool = False
    #: lamina.startup() on DuckDB/SQLite: when the database file does not exist, restore the
    #: newest verified whole-database backup of it first (ignored on the server engines).
    restore_if_missing: bool = False

    @property
    def is_production(self) -> bool:
        return self.env.lower() in {"production", "prod"}

    @property
    def effective_lock_ttl_s(self) -> float:
        if self.lock_ttl_s is not None:
            return self.lock_ttl_s
        return self.max_migration_time_ms / 1000 + LOCK_TTL_MARGIN_S


@dataclass(frozen=True, slots=True)
class _Spec:
    """One setting: its flag, environment variables and config-file key, and how to parse it."""

    field: str
    flag: str
    env: tuple[str, ...]
    key: str
    parse: Callable[[str], Any]


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, not {text!r}")


def _parse_positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("must be a finite number of seconds")
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _choice(*options: str) -> Callable[[str], str]:
    """A parser of a setting that takes one of ``options`` (in any case)."""

    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in options:
            raise ValueError(f"expected {' or '.join(options)}")
        return value

    return parse


def _parse_non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be zero (no limit) or a positive whole number")
    return value


def _parse_keep(text: str) -> int | None:
    """A retention count: a positive number, or 0 / "all" to keep every backup."""
    if text.strip().lower() in {"0", "all"}:
        return None
    return _parse_positive_int(text)


def _parse_positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


_SPECS = (
    _Spec("migrations_dir", "--migrations-dir", ("LAMINA_MIGRATIONS_DIR",), "migrations_dir", str),
    _Spec("env", "--env", ("LAMINA_ENV",), "env", str),
    _Spec(
        "lock_timeout_s",
        "--lock-timeout",
        ("LAMINA_LOCK_TIMEOUT",),
        "lock_timeout",
        _parse_positive_float,
    ),
    _Spec("strict_order", "--strict-order", ("LAMINA_STRICT_ORDER",), "strict_order", _parse_bool),
    _Spec(
        "require_confirmation",
        "--require-confirmation",
        ("MIGRATION_REQUIRE_CONFIRMATION",),
        "require_confirmation",
        _parse_bool,
    ),
    _Spec(
        "max_migration_time_ms",
        "--max-migration-time",
        ("MAX_MIGRATION_TIME",),
        "max_migration_time",
        _parse_positive_int,
    ),
    _Spec(
        "table_lock_timeout_ms",
        "--table-lock-timeout",
        ("LAMINA_TABLE_LOCK_TIMEOUT",),
        "table_lock_timeout",
        _parse_non_negative_int,
    ),
    _Spec("lock_mode", "--lock-mode", ("LAMINA_LOCK_MODE",), "lock_mode", _choice(*LOCK_MODES)),
    _Spec("lock_ttl_s", "--lock-ttl", ("LAMINA_LOCK_TTL",), "lock_ttl", _parse_positive_float),
    _Spec("backup_enabled", "--backup", ("BACKUP_ENABLED",), "backup_enabled", _parse_bool),
    _Spec("backup_dir", "--backup-dir", ("LAMINA_BACKUP_DIR",), "backup_dir", str),
    _Spec("backup_keep", "--backup-keep", ("LAMINA_BACKUP_KEEP",), "backup_keep", _parse_keep),
    _Spec(
        "backup_scope",
        "--backup-scope",
        ("LAMINA_BACKUP_SCOPE",),
        "backup_scope",
        _choice(*BACKUP_SCOPES),
    ),
    _Spec("auto_migrate", "auto_migrate", ("AUTO_MIGRATE",), "auto_migrate", _parse_bool),
    _Spec(
        "startup_on_risk",
        "startup_on_risk",
        ("LAMINA_STARTUP_ON_RISK",),
        "startup_on_risk",
        _choice("fail", "degraded"),
    ),
    _Spec("health_token", "health_token", ("LAMINA_HEALTH_TOKEN",), "health_token", str),
    _Spec(
        "allow_unsafe_migrations",
        "allow_unsafe_migrations",
        ("LAMINA_ALLOW_UNSAFE_MIGRATIONS",),
        "allow_unsafe_migrations",
        _parse_bool,
    ),
    _Spec(
        "restore_if_missing",
        "restore_if_missing",
        ("LAMINA_RESTORE_IF_MISSING",),
        "restore_if_missing",
        _parse_bool,
    ),
)
_FILE_KEYS = frozenset({"database_url", "db_path"} | {spec.key for spec in _SPECS})


def load_settings(
    overrides: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve every setting.

    Args:
        overrides: values given on the command line, keyed by :class:`Settings` field name
            (``database_url`` as text); ``None`` values mean "not given".
        environ: the environment (``os.environ`` by default).
        cwd: where to look for the config file and resolve relative paths (the working dir).

    Raises:
        ConfigError: naming the setting and where its bad value came from.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    environ = os.environ if environ is None else environ
    cwd = (cwd or Path.cwd()).resolve()
    file_values, file_label = _read_config_file(cwd)

    values: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    for spec in _SPECS:
        found = _lookup(spec, overrides, environ, file_values, file_label)
        if found is None:
            continue
        raw, setting, source = found
        try:
            values[spec.field] = spec.parse(str(raw))
        except ValueError as exc:
            raise UsageError(setting, source, f"invalid value {raw!r}: {exc}") from None
        origins[spec.field] = Origin(setting, source)

    ttl = values.get("lock_ttl_s")
    limit_s = values.get("max_migration_time_ms", DEFAULT_MAX_MIGRATION_TIME_MS) / 1000
    if ttl is not None and ttl <= limit_s:
        ttl_origin = origins["lock_ttl_s"]
        raise ConfigError(
            ttl_origin.setting,
            ttl_origin.source,
            f"{ttl:g} s must be longer than the migration time limit ({limit_s:g} s), or a "
            "live run could lose its lock in the middle of a migration",
            hint="raise it, or lower MAX_MIGRATION_TIME",
        )
    url, url_origin = _resolve_database_url(overrides, environ, file_values, file_label, cwd)
    migrations_dir = Path(str(values.pop("migrations_dir", "migrations"))).expanduser()
    if not migrations_dir.is_absolute():
        migrations_dir = cwd / migrations_dir
    backup_dir = Path(str(values.pop("backup_dir", ".lamina/backups"))).expanduser()
    values["backup_dir"] = backup_dir if backup_dir.is_absolute() else cwd / backup_dir
    return Settings(
        database_url=url,
        migrations_dir=migrations_dir,
        database_origin=url_origin,
        migrations_dir_origin=origins.get("migrations_dir", Origin("migrations folder")),
        **values,
    )


def _lookup(
    spec: _Spec,
    overrides: Mapping[str, object],
    environ: Mapping[str, str],
    file_values: Mapping[str, object],
    file_label: str,
) -> tuple[object, str, str] | None:
    """(raw value, setting name, source) from the highest-precedence place that has it."""
    if spec.field in overrides:
        return overrides[spec.field], spec.flag, "command line"
    for var in spec.env:
        if environ.get(var):
            return environ[var], var, "environment"
    if spec.key in file_values:
        return file_values[spec.key], spec.key, file_label
    return None


def _resolve_database_url(
    overrides: Mapping[str, object],
    environ: Mapping[str, str],
    file_values: Mapping[str, object],
    file_label: str,
    cwd: Path,
) -> tuple[DatabaseURL, Origin]:
    candidates: list[tuple[str, str, str, bool]] = []  # (text, setting, source, is_path)
    if "database_url" in overrides:
        candidates.append((str(overrides["database_url"]), "--database-url", "command line", False))
    if environ.get("DATABASE_URL"):
        candidates.append((environ["DATABASE_URL"], "DATABASE_URL", "environment", False))
    if environ.get("DB_PATH"):
        candidates.append((environ["DB_PATH"], "DB_PATH", "environment", True))
    if "database_url" in file_values:
        candidates.append((str(file_values["database_url"]), "database_url", file_label, False))
    if "db_path" in file_values:
        candidates.append((str(file_values["db_path"]), "db_path", file_label, True))
    candidates.append((DEFAULT_DATABASE_URL, "database URL", "default", False))
    text, setting, source, is_path = candidates[0]
    if is_path:
        text = f"duckdb:///{text}"
    try:
        url = parse_url(text)
        from lamina.engines import check_url

        check_url(url)  # an unknown or malformed option fails here, naming the setting
    except URLError as exc:
        raise UsageError(setting, source, str(exc), hint=exc.hint) from None
    if url.is_file and not url.is_memory:
        url = _check_file_path(url, setting, source, cwd)
    return url, Origin(setting, source)


def _check_file_path(url: DatabaseURL, setting: str, source: str, cwd: Path) -> DatabaseURL:
    assert url.path is not None
    path = Path(url.path).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if path.is_dir():
        raise ConfigError(
            setting,
            source,
            f"{path} is a folder, not a database file",
            hint="point it at a file, e.g. duckdb:///./app.duckdb",
        )
    if not path.parent.is_dir():
        raise ConfigError(
            setting,
            source,
            f"folder {path.parent} for the database file does not exist",
            hint="create the folder or fix the path",
        )
    return DatabaseURL(scheme=url.scheme, path=os.path.normpath(path))


def _read_config_file(cwd: Path) -> tuple[dict[str, object], str]:
    """Settings from ``lamina.toml`` or ``pyproject.toml [tool.lamina]`` in ``cwd``."""
    for filename, table in (("lamina.toml", None), ("pyproject.toml", "tool.lamina")):
        path = cwd / filename
        if not path.is_file():
            continue
        label = filename if table is None else f"{filename} [{table}]"
        try:
            data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(str(path), "config file", f"cannot be read: {exc}") from None
        if table is not None:
            tool = data.get("tool")
            section: object = tool.get("lamina") if isinstance(tool, dict) else None
            if section is None:
                continue
            if not isinstance(section, dict):
                raise ConfigError(label, "config file", "must be a table of settings")
            data = section
        if "lamina" in data and table is None and isinstance(data["lamina"], dict):
            data = data["lamina"]
        unknown = sorted(set(data) - _FILE_KEYS)
        if unknown:
            raise ConfigError(
                label,
                "config file",
                f"unknown setting(s): {', '.join(unknown)}",
                hint=f"known settings: {', '.join(sorted(_FILE_KEYS))}",
            )
        return data, label
    return {}, ""
