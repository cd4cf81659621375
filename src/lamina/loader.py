"""Turn a migration file into a runnable :class:`~lamina.migration.Migration`.

This is the only module that executes migration code (importing a ``.py`` file runs its
module body). Commands that only report - ``status``, health - never come here, except for a
``.py`` file whose metadata cannot be read statically.

A Python migration is code that runs with the rights of whoever runs lamina, so it is refused
when the file or its folder is writable by others, every user of the machine (anyone who can
write there could run code as that user), unless allowed: ``allow_unsafe=True``, which callers
pass from ``Settings.allow_unsafe_migrations`` (``LAMINA_ALLOW_UNSAFE_MIGRATIONS``). ``.sql``
files are not code and never refused.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import stat
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from lamina.allowances import allowance_errors, parse_allowances
from lamina.errors import MigrationLoadError
from lamina.migration import BatchedMigration, Migration, SqlBatchedMigration, SqlMigration
from lamina.models import MigrationFile, MigrationMeta
from lamina.sqltext import SqlSource, TransactionControl, find_transaction_control, split_statements
from lamina.sqltext.sections import bind_range_marks
from lamina.staticmeta import MetaError, build_meta, parse_checked

__all__ = [
    "ScannedSql",
    "check_safe_location",
    "import_migration_class",
    "load_migration",
    "meta_from_class",
    "read_text",
    "transaction_control_error",
]

#: Write bits that let someone other than the owner change what lamina would execute.
# Others only: group-writable files are what umask 002 (user private groups, the default on
# Debian/Ubuntu, and `git archive`) gives every checkout, and the group is the user's own.
_UNSAFE_BITS = stat.S_IWOTH
_UNSAFE_HINT = (
    "chmod o-w {place}; or, if others are meant to write there, set "
    "LAMINA_ALLOW_UNSAFE_MIGRATIONS=true (allow_unsafe_migrations)"
)


def check_safe_location(path: Path) -> None:
    """Refuse a ``.py`` migration that any other user of the machine could have written.

    Checks the file and its folder (and, for a symlink, the real file and its folder).
    A place that cannot be stat'ed is left to the read or import to report.

    Raises:
        MigrationLoadError: naming the file, the writable place, its mode and the fix.
    """
    if os.name != "posix":
        return  # no POSIX write bits to read
    places = [("the file", path), (f"its folder {path.parent}", path.parent)]
    real = path.resolve()
    if real != path.absolute():
        places += [
            (f"its target {real}", real),
            (f"the target's folder {real.parent}", real.parent),
        ]
    for what, place in places:
        try:
            mode = place.stat().st_mode
        except OSError:
            continue
        if not mode & _UNSAFE_BITS:
            continue
        raise MigrationLoadError(
            path,
            f"refused to import: {what} is writable by others (mode {stat.S_IMODE(mode):04o}), "
            "and a Python migration is code: anyone who can write there could run code as you",
            hint=_UNSAFE_HINT.format(place=shlex.quote(str(place))),
        )


def read_text(path: Path, data: bytes | None = None) -> str:
    """Decode a migration file as UTF-8 (a BOM is allowed).

    Raises:
        MigrationLoadError: the file cannot be read or is not UTF-8 text.
    """
    try:
        raw = path.read_bytes() if data is None else data
    except OSError as exc:
        raise MigrationLoadError(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MigrationLoadError(
            path,
            f"is not UTF-8 text (byte {exc.start})",
            line=line,
            hint="save the file as UTF-8",
        ) from None


@dataclass(frozen=True, slots=True)
class ScannedSql:
    """A ``.sql`` file as the folder scan read and parsed it (``ScanResult.sources``): loading
    it from here reads and parses nothing again, and runs exactly the text whose checksum the
    scan took. (``staticmeta.parse_checked``'s cache holds 4,096 parses: a folder larger than
    that would be parsed twice, once by the scan and once by the load.)"""

    text: str
    source: SqlSource


def load_migration(
    file: MigrationFile,
    *,
    allow_unsafe: bool = False,
    dialect: str | None = None,
    scanned: ScannedSql | None = None,
) -> Migration:
    """Load ``file`` into a Migration instance with ``id`` and ``version`` set.

    ``allow_unsafe`` as for :func:`import_migration_class`. With the target's ``dialect``, a
    ``.sql`` file whose transactional section controls the transaction (COMMIT, BEGIN,
    ``SET autocommit``...) is refused: see :func:`~lamina.sqltext.controls_transaction`.
    ``scanned``: the ``.sql`` file's text and parse from the scan that found ``file``
    (``ScanResult.sources``); without it the file is read and parsed here.

    Raises:
        MigrationLoadError: unreadable file, malformed sections, an up section that runs
            nothing without ``-- empty: true``, transaction control in a transactional
            section, import failure, not exactly one Migration subclass, or a ``.py`` file
            other users could write.
    """
    if file.kind == "sql":
        if scanned is not None:
            text, source = scanned.text, scanned.source
        else:
            text = read_text(file.path)
            try:
                source = parse_checked(text)
            except MetaError as exc:
                raise MigrationLoadError(file.path, str(exc), line=exc.line) from None
        if dialect is not None:
            _refuse_transaction_control(file, source, dialect)
        migration: Migration = _sql_migration(file, source)
        allowed, errors = parse_allowances(text)
        if errors:
            line, problem = errors[0]
            raise MigrationLoadError(
                file.path,
                f"invalid risk allowance: {problem}",
                line=line,
                hint="write `-- lamina:allow RULE-ID why it is safe here` (see docs/risk-rules.md)",
            )
        migration.risk_allow = allowed
    else:
        cls = import_migration_class(file.path, file.id, allow_unsafe=allow_unsafe)
        problems = allowance_errors(cls.risk_allow)
        if problems:
            raise MigrationLoadError(
                file.path,
                f"invalid risk_allow: {problems[0]}",
                hint='write risk_allow = {"RULE-ID": "why it is safe here"} '
                "(see docs/risk-rules.md)",
            )
        _refuse_two_downs(cls, file)
        migration = cls()
    migration.id = file.id
    migration.version = file.version
    return migration


def _refuse_two_downs(cls: type[Migration], file: MigrationFile) -> None:
    """A BatchedMigration undoes itself in batches or in one go, not both: with both
    ``down()`` and ``batch_down()``, which one runs would be a guess."""
    if not issubclass(cls, BatchedMigration):
        return
    if cls.down is BatchedMigration.down or cls.batch_down is BatchedMigration.batch_down:
        return
    raise MigrationLoadError(
        file.path,
        f"{cls.__name__} defines both down() and batch_down(); a rollback runs one of them",
        hint="keep batch_down() to undo it in batches (one transaction per key range), or "
        "down() to undo it in one step",
    )


def _refuse_transaction_control(file: MigrationFile, source: SqlSource, dialect: str) -> None:
    for direction, section in (("up", source.up), ("down", source.down)):
        if section is None or not source.transactional(down=direction == "down"):
            continue
        statements = split_statements(section.sql, dialect)
        found = find_transaction_control(
            ((s.sql, section.first_line + s.line - 1) for s in statements), dialect
        )
        if found is not None:
            raise transaction_control_error(file, direction, found)


def transaction_control_error(
    file: MigrationFile, direction: str, found: TransactionControl
) -> MigrationLoadError:
    """The refusal of a migration whose transactional ``direction`` controls the transaction."""
    statement = " ".join(found.sql.split())
    if len(statement) > 80:
        statement = statement[:77] + "..."
    if file.kind == "sql":
        where = f"its {direction} section"
        hint = (
            f"run that section outside a transaction (`-- migrate:{direction} "
            "transaction:false`, or `-- transactional: false` for both), or split the "
            "migration in two at that statement"
        )
    else:
        where = f"its {direction}()"
        hint = "declare `transactional = False`, or split the migration in two at that statement"
    return MigrationLoadError(
        file.path,
        f"{where} runs `{statement}`, which {found.what}, yet runs in a transaction: lamina "
        "could not tell what was kept if it failed, so it runs nothing",
        line=found.line,
        hint=hint,
    )


def _sql_migration(file: MigrationFile, source: SqlSource) -> Migration:
    """The migration of a parsed ``.sql`` file: batched when it has ``-- batch:``, whose up
    section must then be one statement (it runs once per key range; a down section of one
    statement using ``:lo`` and ``:hi`` does too)."""
    down, spec = source.down, source.headers.batch
    down_sql, down_line = (down.sql, down.first_line) if down else (None, 1)
    if spec is None:
        return SqlMigration(
            source.up.sql, down_sql, up_line=source.up.first_line, down_line=down_line
        )
    if len(split_statements(source.up.sql, "postgres")) != 1:
        raise MigrationLoadError(
            file.path,
            "a `-- batch:` migration's up section must be exactly one statement (it runs "
            "once per key range, with :lo and :hi bound)",
            line=source.up.marker_line,
            hint="split the other statements into a migration of their own",
        )
    return SqlBatchedMigration(
        source.up.sql,
        down_sql,
        table=spec.table,
        key=spec.key,
        batch_size=spec.size,
        background=spec.background,
        down_in_batches=down_sql is not None and _ranges_over_keys(down_sql),
        up_line=source.up.first_line,
        down_line=down_line,
    )


def _ranges_over_keys(sql: str) -> bool:
    """Whether a ``-- batch:`` file's down section runs once per key range: exactly one
    statement, using both ``:lo`` and ``:hi`` (any other down is an ordinary one)."""
    if len(split_statements(sql, "postgres")) != 1:
        return False
    return {"lo", "hi"} <= set(bind_range_marks(sql)[1])


def import_migration_class(
    path: Path, migration_id: str, *, allow_unsafe: bool = False
) -> type[Migration]:
    """Import a ``.py`` migration and return its one Migration subclass.

    ``allow_unsafe``: import even when other users can write the file or its folder;
    otherwise such a place is refused.

    Raises:
        MigrationLoadError: naming the file and line of a syntax error, the exception an
            import raised (including ``SystemExit``), a wrong number of classes, or an unsafe
            place (see :func:`check_safe_location`).
    """
    if not allow_unsafe:
        check_safe_location(path)
    module = _import_file(path, migration_id)
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, Migration)
        and obj not in (Migration, SqlMigration)
        and obj.__module__ == module.__name__
    ]
    if not found:
        raise MigrationLoadError(
            path,
            "defines no class deriving from lamina.Migration",
            hint="add `class MyMigration(Migration):` with up() and down()",
        )
    if len(found) > 1:
        names = ", ".join(sorted(c.__name__ for c in found))
        raise MigrationLoadError(
            path,
            f"defines {len(found)} Migration classes ({names}); a file holds exactly one",
            hint="move each migration into a file of its own",
        )
    return found[0]


def meta_from_class(cls: type[Migration], path: Path, slug: str) -> MigrationMeta:
    """The metadata an imported class declares, validated like the static reader does."""
    values = {
        attr: getattr(cls, attr)
        for attr in ("name", "description", "category", "dependencies", "transactional")
    }
    try:
        return build_meta(values, slug, reversible=cls.is_reversible())
    except MetaError as exc:
        raise MigrationLoadError(path, str(exc)) from None


def _module_name(migration_id: str) -> str:
    return "lamina_migrations." + re.sub(r"\W", "_", migration_id)


def _import_file(path: Path, migration_id: str) -> ModuleType:
    name = _module_name(migration_id)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise MigrationLoadError(path, "cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise MigrationLoadError(path, f"syntax error: {exc.msg}", line=exc.lineno) from exc
    except KeyboardInterrupt:
        sys.modules.pop(name, None)
        raise
    except BaseException as exc:  # SystemExit too: a migration must not end lamina
        sys.modules.pop(name, None)
        what = _describe_import_failure(exc)
        raise MigrationLoadError(path, what, line=_line_in(path, exc)) from exc
    return module


def _describe_import_failure(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"calls sys.exit({exc.code!r}) while being imported"
    return f"fails to import: {type(exc).__name__}: {exc}"


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The deepest traceback line inside ``path``: where the user's code went wrong."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    return line
