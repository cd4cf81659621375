"""Backups of just the tables a run touches (``backup_scope = touched``): which tables go in,
and whether a restore of them is safe, for every engine alike.

An engine describes its live database as :class:`LiveTables`. :func:`plan_backup` turns what
the run's statements touch (:class:`lamina.risk.touched.Touched`) into the :class:`TableScope`
the manifest records, or raises :class:`WholeDatabase` with the reason to back up everything
instead. lamina's history tables are always in the scope, so a restore rolls the history back
with the data, as a whole-database restore does; the server lock table never is (it holds the
lock of the restore itself). Tables linked by foreign keys join the scope when the engine could
not restore them apart (see :data:`Follow`), and tables written by triggers join it too.

:func:`plan_restore` checks a touched backup against the live database before anything
changes: what to drop, what to load, which foreign keys from other tables to put back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from lamina.backup.errors import BackupError
from lamina.backup.store import BackupRecord
from lamina.history.tables import LOG, META, MIGRATIONS

if TYPE_CHECKING:
    from lamina.risk.touched import TableName, Touched

__all__ = [
    "HISTORY",
    "Follow",
    "ForeignKey",
    "LiveTables",
    "RestorePlan",
    "TableScope",
    "Trigger",
    "WholeDatabase",
    "plan_backup",
    "plan_restore",
    "scope_of",
]

#: lamina's history, always backed up and restored with the touched tables.
HISTORY = (LOG, META, MIGRATIONS)

#: Which foreign-key neighbours of a touched table join the scope: ``cascading`` keys only
#: (their ON DELETE/UPDATE actions let a write reach the referencing table; other keys are put
#: back or checked by the restore), every key *into* the scope (the engine cannot drop a
#: referenced table), or keys both ways (MySQL: a key follows its table through RENAME TABLE).
Follow = Literal["cascading", "inbound", "both"]


class WholeDatabase(Exception):
    """A signal, not an error: the tables cannot be backed up alone (the message says why),
    so the backup falls back to the whole database."""


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key touching the target: ``source`` references ``target``.

    ``outside`` marks a source or target outside the target schema or database (its name is
    then qualified, and it can never join the scope). PostgreSQL fills ``name``, ``source_sql``
    and ``definition`` to put a key from another table back after a restore.
    """

    source: str
    target: str
    cascades: bool = False
    outside: bool = False
    name: str = ""
    source_sql: str = ""
    definition: str = ""


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger on a table: the tables it writes, or None when lamina cannot tell."""

    name: str
    writes: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class LiveTables:
    """What a touched backup or restore needs to know of the live database.

    Attributes:
        tables: the base tables of the target (schema, database or file).
        others: other relations sharing the tables' names (views...): name -> kind.
        foreign_keys: keys whose source or target is in the target.
        indexes: index name -> its table (for ``DROP INDEX i``).
        triggers: table -> its triggers.
        alone: table -> why it cannot be backed up or restored by itself.
        qualifiers: the qualifiers that name the target (``()``, ``("main",)``...).
        fold: whether names match case-insensitively.
    """

    tables: frozenset[str]
    others: Mapping[str, str] = field(default_factory=dict)
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: Mapping[str, str] = field(default_factory=dict)
    triggers: Mapping[str, tuple[Trigger, ...]] = field(default_factory=dict)
    alone: Mapping[str, str] = field(default_factory=dict)
    qualifiers: frozenset[tuple[str, ...]] = frozenset({()})
    fold: bool = False

    def resolve(self, name: str) -> str:
        """``name`` as the live database spells it (case-insensitively where names fold)."""
        if not self.fold or name in self.tables or name in self.others:
            return name
        lowered = name.lower()
        return next((n for n in (*self.tables, *self.others) if n.lower() == lowered), name)

    def local(self, name: TableName) -> str:
        """The target's table ``name`` names; WholeDatabase when it is somewhere else."""
        qualifier = tuple(q.lower() for q in name.qualifier) if self.fold else name.qualifier
        known = {tuple(q.lower() for q in k) for k in self.qualifiers} if self.fold else None
        if qualifier not in (known if known is not None else self.qualifiers):
            raise WholeDatabase(f"{name} is outside the database lamina backs up")
        return self.resolve(name.name)


@dataclass(frozen=True, slots=True)
class TableScope:
    """What a touched backup's manifest records.

    Attributes:
        tables: the tables the backup holds (they existed when it was taken).
        absent: tables in the scope that did not exist yet (the run creates them, or renames
            a table to them): a restore drops them.
        dropped: backed-up tables the run drops or renames away: a restore recreates them.
    """

    tables: tuple[str, ...]
    absent: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()


def plan_backup(touched: Touched, live: LiveTables, follow: Follow) -> TableScope:
    """The scope of a touched backup: the run's tables, lamina's history, and the tables
    foreign keys and triggers tie to them.

    Raises:
        WholeDatabase: the statements or the live database need the whole database.
    """
    if touched.whole is not None:
        raise WholeDatabase(touched.whole)
    wanted = {live.local(name) for name in touched.tables} | set(HISTORY)
    wanted |= {t for i in touched.indexes if (t := live.indexes.get(live.local(i))) is not None}
    dropped = {live.local(name) for name in touched.dropped}
    scope: set[str] = set()
    pending = sorted(wanted)
    while pending:
        table = pending.pop()
        if table in scope:
            continue
        scope.add(table)
        pending.extend(_neighbours(table, live, follow))
    present = scope & live.tables
    return TableScope(
        tables=tuple(sorted(present)),
        absent=tuple(sorted(scope - present)),
        dropped=tuple(sorted(dropped & present)),
    )


def _neighbours(table: str, live: LiveTables, follow: Follow) -> list[str]:
    """The tables that must join ``table`` in the scope; WholeDatabase if one cannot."""
    if table in live.others:
        raise WholeDatabase(f"{table} is a {live.others[table]}, not a table")
    if table in live.tables and table in live.alone:
        raise WholeDatabase(f"table {table} cannot be backed up alone: {live.alone[table]}")
    found: list[str] = []
    for trigger in live.triggers.get(table, ()):
        if trigger.writes is None:
            raise WholeDatabase(
                f"table {table} has trigger {trigger.name}, which may change tables lamina "
                "cannot see"
            )
        found.extend(live.resolve(name) for name in trigger.writes)
    for key in live.foreign_keys:
        inbound = key.target == table and (follow != "cascading" or key.cascades)
        outbound = key.source == table and follow == "both"
        if (inbound or outbound) and key.outside:
            raise WholeDatabase(
                f"a foreign key links {table} to {key.source if inbound else key.target}, "
                "outside the database lamina backs up"
            )
        found += [key.source] if inbound else [key.target] if outbound else []
    return found


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """What a touched restore does, in one transaction (or one RENAME TABLE).

    ``drop`` (existing tables of the scope) goes first, then ``load`` (the backup's tables)
    comes back; ``keys`` are foreign keys of other tables into ``load``, which PostgreSQL
    drops and adds back (checking every row) and SQLite checks.
    """

    drop: tuple[str, ...]
    load: tuple[str, ...]
    keys: tuple[ForeignKey, ...] = ()


def plan_restore(
    backup_id: str, scope: TableScope, live: LiveTables, follow: Follow
) -> RestorePlan:
    """Check a touched backup against the live database; what its restore does.

    Raises:
        BackupError: the restore would be ambiguous or would break other tables; nothing
            was changed.
    """
    what = f"backup {backup_id}"
    for table in (*scope.tables, *scope.absent):
        if table in live.others:
            raise _refused(f"{table}, a table in {what}, is now a {live.others[table]}")
        if table in live.tables and table in live.alone:
            raise _refused(f"table {table} cannot be restored alone: {live.alone[table]}")
    missing = [t for t in scope.tables if t not in live.tables and t not in scope.dropped]
    if missing:
        raise _refused(
            f"{what} holds table(s) {', '.join(missing)}, which no longer exist although the "
            "run it was taken for does not drop or rename them: they were dropped or renamed "
            "since, and if renamed, restoring would leave two copies",
            hint=f"rename them back (or create empty tables of those names) and restore "
            f"{backup_id} again, or restore a whole-database backup",
        )
    return RestorePlan(
        drop=tuple(t for t in (*scope.tables, *scope.absent) if t in live.tables),
        load=scope.tables,
        keys=_outside_keys(what, scope, live, follow),
    )


def _outside_keys(
    what: str, scope: TableScope, live: LiveTables, follow: Follow
) -> tuple[ForeignKey, ...]:
    inside = {*scope.tables, *scope.absent}
    kept: list[ForeignKey] = []
    for key in live.foreign_keys:
        if key.target in inside and (key.outside or key.source not in inside):
            if key.target in scope.absent:
                raise _refused(
                    f"the restore of {what} drops {key.target}, which did not exist when it was "
                    f"taken, but a foreign key of {key.source} references it"
                )
            if follow != "cascading":
                raise _refused(
                    f"a foreign key of {key.source} references {key.target}, which the engine "
                    f"cannot restore apart from {key.source} ({what} does not hold it)"
                )
            kept.append(key)
        elif follow == "both" and key.source in inside and key.target not in inside:
            raise _refused(
                f"{key.source} references {key.target}, which {what} does not hold: MySQL "
                "cannot move one without the other"
            )
    return tuple(kept)


def scope_of(record: BackupRecord) -> TableScope:
    """The scope a touched backup's manifest records."""
    return TableScope(record.tables, record.absent, record.dropped)


def _refused(text: str, hint: str | None = None) -> BackupError:
    return BackupError(
        f"{text}; nothing was restored",
        hint=hint or "restore a whole-database backup, or restore by hand",
    )
