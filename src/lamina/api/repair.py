"""Repairing history by hand: resolving a dirty migration after the user fixed the database,
accepting the edited file of an applied migration; and writing a new migration file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lamina.api.checks import matches
from lamina.api.drift import record_schema
from lamina.api.results import ChecksumAccepted, CreateResult, RepairMark, RepairResult
from lamina.api.session import Session
from lamina.errors import ConfigError, PlanError, UsageError
from lamina.models import AppliedMigration, AuditAction, Category, MigrationFile, RowState
from lamina.templates import next_version, render_template, slugify

__all__ = ["accept_checksum", "create", "repair"]


def repair(session: Session, migration_id: str, mark: RepairMark) -> RepairResult:
    """Resolve a dirty (failed or interrupted) migration after the user fixed the database.

    ``mark="applied"``: the user finished the migration by hand; its row becomes applied.
    ``mark="rolled-back"``: the user undid what it did; its row is removed, so it is
    pending again. Either way the audit log records the repair, with who did it.

    Raises:
        PlanError: no such migration in history, or it is not dirty.
        LockTimeoutError: another run holds the migration lock.
    """
    if mark not in ("applied", "rolled-back"):
        raise ValueError(f"mark must be 'applied' or 'rolled-back', not {mark!r}")
    with session.writer("lamina repair") as (backend, history):
        rows = {row.id: row for row in history.applied()}
        migration_id = _resolve_id(migration_id, [(r.id, r.version) for r in rows.values()])
        row = rows.get(migration_id)
        dirty = [r.id for r in rows.values() if r.dirty]
        if row is None or not row.dirty:
            state = "not in history" if row is None else "applied, not dirty"
            listing = ", ".join(dirty) if dirty else "none"
            raise PlanError(
                f"cannot repair {migration_id}: it is {state} (dirty migrations: {listing})",
                hint="`lamina status` lists failed migrations; repair only those",
            )
        with backend.transaction():
            if mark == "applied":
                history.mark(migration_id, RowState.APPLIED)
            else:
                history.record_rollback(migration_id)
            history.audit(
                AuditAction.REPAIR,
                migration_id=migration_id,
                version=row.version,
                detail=f"marked {mark} (was {row.state}: {row.detail or 'no detail'})",
            )
        # The user fixed the database by hand: what is there now is the new baseline.
        record_schema(backend, history)
    return RepairResult(migration_id, row, mark)


def accept_checksum(
    session: Session, selection: Sequence[str] = (), *, every: bool = False
) -> tuple[ChecksumAccepted, ...]:
    """Accept the edited file of applied migrations: store each file's current checksum
    on its history row, so it is no longer ``modified``. For an edit that changes nothing
    the database has (a comment, formatting); the database itself is not touched.

    ``selection`` names migrations by id or version (``004``, ``4``, ``004_name``);
    ``every`` accepts every modified migration instead. Each acceptance is written to the
    audit log with the user and host, the old and the new checksum.

    Raises:
        PlanError: a migration is not in history, is dirty, its file is missing or
            unchanged; or ``every`` finds nothing modified. Nothing is changed then.
        LockTimeoutError: another run holds the migration lock.
    """
    if every == bool(selection):
        raise ValueError("name migrations, or pass every=True; not both")
    scanned = session.scan()
    files = {f.id: f for f in scanned.files}
    with session.writer("lamina repair --accept-checksum") as (backend, history):
        rows = {row.id: row for row in history.applied()}
        if every:
            chosen = [
                row
                for row in rows.values()
                if not row.dirty and row.id in files and files[row.id].checksum != row.checksum
            ]
            if not chosen:
                raise PlanError(
                    "no applied migration was modified: there is no checksum to accept",
                    hint="`lamina status` lists modified migrations",
                )
        else:
            known = [(r.id, r.version) for r in rows.values()]
            known += [(f.id, f.version) for f in files.values() if f.id not in rows]
            chosen = [_acceptable(_resolve_id(name, known), rows, files) for name in selection]
        accepted: list[ChecksumAccepted] = []
        with backend.transaction():
            for row in dict.fromkeys(chosen):
                new = files[row.id].checksum
                history.set_checksum(row.id, new)
                history.audit(
                    AuditAction.REPAIR,
                    migration_id=row.id,
                    version=row.version,
                    detail=f"accepted the edited file {files[row.id].path.name}: checksum "
                    f"{new} (was {row.checksum})",
                )
                accepted.append(ChecksumAccepted(row.id, row.checksum, new))
    return tuple(accepted)


def _acceptable(
    migration_id: str, rows: Mapping[str, AppliedMigration], files: Mapping[str, MigrationFile]
) -> AppliedMigration:
    row = rows.get(migration_id)
    file = files.get(migration_id)
    why = None
    if row is None and file is None:
        why = "no such migration in history or in the migrations folder"
    elif row is None:
        why = "it is not applied (only an applied migration's checksum is recorded)"
    elif row.dirty:
        why = (
            f"it is {row.state} (dirty): resolve it with `lamina repair {migration_id} "
            "--mark-applied` or `--mark-rolled-back`"
        )
    elif file is None:
        why = "its file is missing: restore it from version control"
    elif file.checksum == row.checksum:
        why = "its file is unchanged since it was applied"
    if why is not None or row is None:
        raise PlanError(
            f"cannot accept the checksum of {migration_id}: {why}",
            hint="`lamina status` lists modified migrations; nothing was changed",
        )
    return row


def create(
    session: Session,
    name: str,
    *,
    sql: bool = False,
    category: Category | str = Category.SCHEMA,
    depends_on: Sequence[str] = (),
) -> CreateResult:
    """Write a new migration template into the migrations folder and return its path.

    Raises:
        ConfigError: the name cannot become a file name, or the folder cannot be written.
    """
    from lamina.templates import check_name

    try:
        check_name(name)
        slug = slugify(name)
    except ValueError as exc:
        raise ConfigError("NAME", "command line", str(exc)) from None
    folder = session.settings.migrations_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            session.settings.migrations_dir_origin.setting,
            session.settings.migrations_dir_origin.source,
            f"cannot create {folder}: {exc.strerror}",
        ) from None
    scanned = session.scan()  # the folder exists now
    existing = {f.version: f.id.split("_", 1)[0] for f in scanned.files}
    unknown = [d for d in depends_on if not any(matches(f, d) for f in scanned.files)]
    if unknown:
        raise UsageError(
            "--depends-on", "command line", f"no migration {', '.join(unknown)} in {folder}"
        )
    version = next_version(existing)
    kind = "sql" if sql else "py"
    path = folder / f"{version}_{slug}.{kind}"
    text = render_template(kind, name, Category(category), tuple(depends_on))
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ConfigError("NAME", "command line", f"{path} already exists") from None
    return CreateResult(path, path.stem)


def _resolve_id(name: str, known: Sequence[tuple[str, int]]) -> str:
    """The id ``name`` means among ``known`` (id, version) pairs: the id itself, or a version
    written any way (``4``, ``004``), or a version and slug (``4_name`` for ``004_name``).
    A name that matches nothing is returned as it is, for the caller to refuse by name.

    Raises:
        PlanError: a version shared by several migrations.
    """
    ids = {migration_id for migration_id, _ in known}
    if name in ids:
        return name
    number, _, slug = name.partition("_")
    if not number.isdigit():
        return name
    matches = sorted(
        {
            migration_id
            for migration_id, version in known
            if version == int(number) and (not slug or migration_id.partition("_")[2] == slug)
        }
    )
    if len(matches) > 1:
        raise PlanError(
            f"{name} is ambiguous: it is the version of {', '.join(matches)}",
            hint="name the migration by its id",
        )
    return matches[0] if matches else name
