"""The engine registry: one :class:`EngineSpec` per database engine, imported only when used.

Everything lamina knows about an engine lives in its folder (``engines/<name>/``: ``backend``,
``catalog``, ``backup``, ``connect``) and in one line of :data:`ENGINES`, which names those
modules as lazy ``"module:attr"`` paths. Importing this package imports no database driver;
:func:`open_backend` imports the one module a URL needs, so a missing optional driver fails
only the commands that need it, with the ``pip install`` line that fixes it.

Code outside ``engines/`` never switches on a URL scheme: it asks :func:`spec_for` (or a
backend's :class:`Capabilities`). Adding an engine is one folder plus one registry line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lamina.engines.base import Backend, BackendOptions, Capabilities
from lamina.errors import BackendUnavailableError
from lamina.urls import DatabaseURL

if TYPE_CHECKING:
    from lamina.risk.model import LiveFacts

__all__ = [
    "ENGINES",
    "REGISTRY",
    "Backend",
    "BackendOptions",
    "Capabilities",
    "EngineSpec",
    "check_url",
    "dialect_for",
    "load",
    "open_backend",
    "risk_facts",
    "spec_for",
    "spec_for_dialect",
]


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """What lamina knows about an engine without importing it or its driver.

    Attributes:
        name: the normalised URL scheme (``postgresql``), also the backup records' ``engine``.
        schemes: every URL scheme spelling that reaches it (``postgres`` too).
        dialect: the sqlglot dialect name (``postgres``).
        title: how messages name it (``PostgreSQL``).
        default_port: the server's port when the URL has none; None for file engines.
        quote_char: the identifier quote (``"`` or a backtick), doubled inside a name.
        capabilities: what the engine can do (also the backend class's ``capabilities``).
        scratch: ``file`` (a throw-away file) or ``server`` (a new database on the server).
        file_suffix: the file name suffix of its scratch and test databases (file engines).
        backend: ``"module:Class"`` of its :class:`Backend`.
        catalog: ``"module:function"`` of its schema reader, ``(backend, whole) -> builder``.
        backup: ``"module:attr"`` of its backup implementation (``lamina.backup.EngineBackup``).
        facts: ``"module:function"`` reading the live facts the risk rules use,
            ``(backend) -> lamina.risk.LiveFacts`` (indexes, foreign keys, sizes, version).
        backup_format: the manifest's ``format`` of its backups.
        install_hint: what to run when its module or driver cannot be imported.
        url_check: ``"module:function"`` checking a URL's query options (raises URLError), or
            None when the engine checks them only when it connects.
        fingerprint: ``"module:function"``, ``(backend) -> str``: a digest of the raw catalog
            that changes whenever anything the catalog reader reads changes, cheap enough to
            skip the reader when drift finds it unchanged; None when the engine has none.
    """

    name: str
    schemes: tuple[str, ...]
    dialect: str
    title: str
    default_port: int | None
    quote_char: str
    capabilities: Capabilities
    scratch: Literal["file", "server"]
    backend: str
    catalog: str
    backup: str
    facts: str
    backup_format: str
    install_hint: str
    file_suffix: str | None = None
    url_check: str | None = None
    fingerprint: str | None = None

    def quote(self, name: str) -> str:
        """``name`` as a quoted identifier of this engine (for names lamina generated or read
        from the catalog: the quote character is doubled, nothing else is escaped)."""
        q = self.quote_char
        return q + name.replace(q, q + q) + q


def _spec(name: str, folder: str, **fields: Any) -> EngineSpec:
    module = f"lamina.engines.{folder}"
    return EngineSpec(
        name=name,
        backend=f"{module}.backend:{fields.pop('backend_class')}",
        catalog=f"{module}.catalog:read",
        fingerprint=f"{module}.catalog:fingerprint" if fields.pop("fingerprint") else None,
        backup=f"{module}.backup:BACKUP",
        facts=f"{module}.facts:read",
        **fields,
    )


#: Normalised URL scheme -> its engine.
ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        _spec("duckdb", "duckdb", schemes=("duckdb",), dialect="duckdb", title="DuckDB",
              default_port=None, quote_char='"', scratch="file", file_suffix=".duckdb",
              capabilities=Capabilities(
                  transactional_ddl=True, checkpoint_sql="CHECKPOINT", one_process=True,
                  sequence_start_is_state=True,
              ),
              backend_class="DuckDBBackend", backup_format="duckdb-file", fingerprint=True,
              install_hint="pip install duckdb (lamina depends on it; reinstall lamina to "
              "restore it)"),
        _spec("sqlite", "sqlite", schemes=("sqlite",), dialect="sqlite", title="SQLite",
              default_port=None, quote_char='"', scratch="file", file_suffix=".sqlite3",
              capabilities=Capabilities(
                  transactional_ddl=True,
                  handoff="lamina.engines.sqlite.backend:busy_sleep_ms",
              ),
              backend_class="SQLiteBackend", backup_format="sqlite-file",
              install_hint="use a Python built with the sqlite3 module", fingerprint=True),
        _spec("postgresql", "postgresql", schemes=("postgresql", "postgres"),
              dialect="postgres", title="PostgreSQL", default_port=5432, quote_char='"',
              scratch="server", capabilities=Capabilities(transactional_ddl=True),
              backend_class="PostgresBackend", backup_format="pg_dump-custom", fingerprint=True,
              install_hint="pip install 'lamina[postgres]'"),
        _spec("mysql", "mysql", schemes=("mysql",), dialect="mysql", title="MySQL",
              default_port=3306, quote_char="`", scratch="server",
              capabilities=Capabilities(
                  transactional_ddl=False,
                  implicit_commits="lamina.sqltext.implicit_commits:commits_implicitly",
              ),
              backend_class="MySQLBackend", backup_format="mysqldump-sql", fingerprint=False,
              install_hint="pip install 'lamina[mysql]'",
              url_check="lamina.engines.mysql.connect:parse_options"),
    )
}  # fmt: skip

#: Normalised URL scheme -> ``"module:Class"`` of its backend (tests may point one elsewhere).
REGISTRY: dict[str, str] = {name: spec.backend for name, spec in ENGINES.items()}


def spec_for(url: DatabaseURL) -> EngineSpec:
    """The engine of ``url``.

    Raises:
        BackendUnavailableError: no engine serves the scheme.
    """
    spec = ENGINES.get(url.scheme)
    if spec is None:
        raise _unknown_scheme(url)
    return spec


def spec_for_dialect(dialect: str) -> EngineSpec:
    """The engine whose sqlglot dialect is ``dialect`` (``postgres``).

    Raises:
        BackendUnavailableError: no engine speaks it.
    """
    for spec in ENGINES.values():
        if spec.dialect == dialect:
            return spec
    raise BackendUnavailableError(f"no engine speaks the {dialect} dialect")


def load(path: str, *, hint: str | None = None, what: str = "engine module") -> Any:
    """The object a lazy ``"module:attr"`` path names, imported now.

    Raises:
        BackendUnavailableError: the module (or its driver) cannot be imported.
    """
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailableError(f"the {what} is not available: {exc}", hint=hint) from exc
    found = getattr(module, attr, None)
    if found is None:
        raise BackendUnavailableError(f"{path} does not exist", hint=hint)
    return found


def open_backend(
    url: DatabaseURL, *, read_only: bool = False, options: BackendOptions | None = None
) -> Backend:
    """The backend for ``url``, not yet connected.

    Example::

        backend = open_backend(parse_url("duckdb:///app.duckdb"))
        backend.connect(timeout_s=5)

    Raises:
        BackendUnavailableError: no backend serves the scheme, or its module or driver cannot
            be imported; the hint says what to install.
    """
    path = REGISTRY.get(url.scheme)
    if path is None:
        raise _unknown_scheme(url)
    hint = spec_for(url).install_hint
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the {url.scheme} backend is not available: {exc}", hint=hint
        ) from exc
    backend_class = getattr(module, class_name, None)
    if not (isinstance(backend_class, type) and issubclass(backend_class, Backend)):
        raise BackendUnavailableError(f"{path} is not a lamina backend", hint=hint)
    return backend_class(url, read_only=read_only, options=options)


def risk_facts(backend: Backend) -> LiveFacts:
    """What the risk rules may know of ``backend``'s database: indexes, foreign keys, sizes
    and the server version, read by its engine's ``facts`` module (one round of queries)."""
    reader: Callable[[Backend], LiveFacts] = load(ENGINES[backend.name].facts)
    return reader(backend)


def dialect_for(url: DatabaseURL) -> str:
    """The sqlglot dialect of ``url``'s engine (``"postgres"`` for postgresql://), no import.

    Raises:
        BackendUnavailableError: no backend serves the scheme.
    """
    return spec_for(url).dialect


def check_url(url: DatabaseURL) -> None:
    """Check the engine-specific parts of ``url`` (MySQL's query options) without connecting.

    Raises:
        URLError: an unknown or malformed option, naming it.
    """
    spec = ENGINES.get(url.scheme)
    if spec is not None and spec.url_check is not None:
        load(spec.url_check, hint=spec.install_hint)(url)


def _unknown_scheme(url: DatabaseURL) -> BackendUnavailableError:
    known = ", ".join(sorted(ENGINES))
    return BackendUnavailableError(f"no backend for {url.scheme}:// URLs (known: {known})")
