"""MySQL and MariaDB: the current database (``DATABASE()``), from ``information_schema``.

Nine small queries cover every table, one ``information_schema`` view each (see ``_TABLES``).
Table and view names are kept as the server reports them (their case sensitivity depends on
``lower_case_table_names``); column and index names, which MySQL always compares
case-insensitively, are lower-cased. Integer display widths are dropped
(``int(11)`` -> ``int``, except ``tinyint(1)``, MySQL's BOOLEAN). Defaults are made to look
alike on both servers: MariaDB reports expressions (``'x'``, ``NULL``), MySQL 8 bare values
(``x``) that are quoted here unless ``EXTRA`` says they are expressions. ``auto_increment``
and ``on update ...`` are part of the default text. ``RESTRICT`` (MySQL's default action) is
reported as ``NO ACTION``, its synonym in InnoDB.

Every unique key is a UNIQUE constraint to MySQL (``CREATE UNIQUE INDEX`` included), so it is
in ``uniques``, not ``indexes``. The index InnoDB creates by itself for a foreign key (named
after the constraint or its first column, on exactly its columns) is left out; once the
foreign key is dropped, InnoDB keeps that index and it appears as an ordinary index. Two
unique keys on the same columns are two entries of ``uniques``.

Procedures and functions (parameters from ``information_schema.parameters``), triggers
(``name on table``) and events are objects whose definition is rebuilt as a ``CREATE``
statement from the catalog's columns, without the definer (which depends on who ran it). An
event without ``STARTS`` starts when it was created: that time is in its definition, so
:func:`~lamina.schema.diff` masks it only when given ``volatile_since``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lamina.engines.base import Backend
from lamina.schema.builder import SchemaBuilder, TableBuilder
from lamina.schema.model import Column, ForeignKey, Index
from lamina.schema.normalise import (
    is_numeric_type,
    normalise_default,
    normalise_expression,
    normalise_type,
)

__all__ = ["read"]

# information_schema joins are slow on MariaDB (each side is materialised for every row:
# 300 ms for 200 tables), so every query reads one view and the rows are joined here. Each
# view that opens table definitions costs more once the database has more tables than the
# server's table_definition_cache (400 by default): MariaDB skips table_constraints (see
# _kinds), and referential_constraints is read only when there is a foreign key.
_TABLES = """
SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE()
"""
_VIEWS = """
SELECT table_name, view_definition FROM information_schema.views
WHERE table_schema = DATABASE()
"""
_COLUMNS = """
SELECT table_name, column_name, column_type, is_nullable, column_default, extra,
       generation_expression
FROM information_schema.columns WHERE table_schema = DATABASE()
ORDER BY table_name, ordinal_position
"""
_CONSTRAINTS = """
SELECT table_name, constraint_name, constraint_type FROM information_schema.table_constraints
WHERE table_schema = DATABASE() AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
"""
_DELETE_RULES = """
SELECT table_name, constraint_name, delete_rule FROM information_schema.referential_constraints
WHERE constraint_schema = DATABASE()
"""
_KEY_COLUMNS = """
SELECT table_name, constraint_name, column_name, referenced_table_schema,
       referenced_table_name, referenced_column_name
FROM information_schema.key_column_usage WHERE table_schema = DATABASE()
ORDER BY table_name, constraint_name, ordinal_position
"""
#: MariaDB names CHECK constraints per table (and reports the table); MySQL per database.
_CHECKS_MARIADB = """
SELECT table_name, check_clause FROM information_schema.check_constraints
WHERE constraint_schema = DATABASE()
"""
_CHECKS_MYSQL = """
SELECT tc.table_name, cc.check_clause
FROM information_schema.table_constraints tc
JOIN information_schema.check_constraints cc
  ON cc.constraint_schema = tc.constraint_schema AND cc.constraint_name = tc.constraint_name
WHERE tc.table_schema = DATABASE() AND tc.constraint_type = 'CHECK'
"""
_ROUTINES = """
SELECT routine_name, routine_type, dtd_identifier, routine_definition, is_deterministic,
       sql_data_access, security_type
FROM information_schema.routines WHERE routine_schema = DATABASE()
"""
_PARAMETERS = """
SELECT specific_name, parameter_mode, parameter_name, dtd_identifier
FROM information_schema.parameters
WHERE specific_schema = DATABASE() AND ordinal_position > 0
ORDER BY specific_name, ordinal_position
"""
_TRIGGERS = """
SELECT trigger_name, event_object_table, action_timing, event_manipulation, action_statement
FROM information_schema.triggers WHERE trigger_schema = DATABASE()
"""
_EVENTS = """
SELECT event_name, event_type, execute_at, interval_value, interval_field, starts, ends,
       on_completion, status, event_definition
FROM information_schema.events WHERE event_schema = DATABASE()
"""
#: MySQL 8 reports a functional key part in EXPRESSION; MariaDB has no such column.
_STATISTICS = """
SELECT table_name, index_name, non_unique, column_name, sub_part, collation, index_type, {}
FROM information_schema.statistics
WHERE table_schema = DATABASE() AND index_name <> 'PRIMARY'
ORDER BY table_name, index_name, seq_in_index
"""
_BACKTICKED = re.compile(r"`([A-Za-z0-9_$]+)`")
_ON_UPDATE = re.compile(r"on update (\S+)")
_ON_DELETE = {"RESTRICT": "NO ACTION"}


@dataclass
class _Server:
    database: str
    mariadb: bool
    #: (table, constraint name) -> PRIMARY KEY, UNIQUE or FOREIGN KEY.
    kinds: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (table, constraint name) -> a foreign key's ON DELETE rule.
    delete_rules: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (table, constraint name) -> foreign key columns, to spot InnoDB's implicit indexes.
    fk_names: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)


def read(backend: Backend, whole_database: bool = False) -> SchemaBuilder:
    """``whole_database`` changes nothing: the database of the URL is the whole target."""
    version, database = backend.query("SELECT VERSION(), DATABASE()")[0]
    server = _Server(str(database), "mariadb" in str(version).lower())
    schema = SchemaBuilder(backend.name)
    for name, kind in backend.query(_TABLES):
        if kind in ("BASE TABLE", "SYSTEM VERSIONED"):
            schema.add_table(str(name))
        elif kind == "SEQUENCE":
            schema.add_sequence(str(name))
    for name, definition in backend.query(_VIEWS):
        text = str(definition).replace(f"`{server.database}`.", "") if definition else None
        schema.add_view(str(name), _expression(text) if text else None)
    for row in backend.query(_COLUMNS):
        _column(schema, server, row)
    _keys_and_indexes(schema, server, backend)
    _routines(schema, server, backend)
    for name, table, timing, event, action in backend.query(_TRIGGERS):
        head = f"create trigger {name} {timing} {event} on {table} for each row "
        schema.add_object("trigger", f"{name} on {table}", _body(server, head, action))
    for row in backend.query(_EVENTS):
        schema.add_object("event", str(row[0]), _event(server, row))
    return schema


def _body(server: _Server, head: str, body: object) -> str:
    """``head`` + ``body``, normalised, without this database's qualifier."""
    return _expression(head + str(body or "").replace(f"`{server.database}`.", ""))


def _routines(schema: SchemaBuilder, server: _Server, backend: Backend) -> None:
    parameters: dict[str, list[tuple[str, str]]] = {}
    for routine, mode, name, declared in backend.query(_PARAMETERS):
        spelled = f"{name} {normalise_type(str(declared), mysql=True)}"
        parameters.setdefault(str(routine), []).append((str(mode or ""), spelled))
    for name, kind, returns, body, deterministic, access, security in backend.query(_ROUTINES):
        function = kind == "FUNCTION"  # a function's parameters are all IN (MariaDB says so)
        listed = ", ".join(
            text if function else f"{mode} {text}" for mode, text in parameters.get(str(name), ())
        )
        head = f"create {kind} {name}({listed})"
        if returns is not None and function:
            head += f" returns {normalise_type(str(returns), mysql=True)}"
        head += " deterministic" if deterministic == "YES" else " not deterministic"
        head += f" {access} sql security {security} "
        schema.add_object(str(kind).lower(), str(name), _body(server, head, body))


def _event(server: _Server, row: tuple[Any, ...]) -> str:
    name, kind, at, every, field_, starts, ends, completion, status, body = row
    if kind == "ONE TIME":
        schedule = f"at '{at}'"
    else:
        schedule = f"every {every} {field_}" + (f" starts '{starts}'" if starts else "")
        schedule += f" ends '{ends}'" if ends else ""
    head = f"create event {name} on schedule {schedule} on completion {completion} {status} do "
    return _body(server, head, body)


def _grouped(rows: list[tuple[Any, ...]], width: int) -> list[list[tuple[Any, ...]]]:
    """Consecutive rows sharing their first ``width`` values (the parts of one key/index)."""
    groups: list[list[tuple[Any, ...]]] = []
    for row in rows:
        if groups and groups[-1][0][:width] == row[:width]:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _expression(text: str) -> str:
    return normalise_expression(_BACKTICKED.sub(r"\1", text))


def _column(schema: SchemaBuilder, server: _Server, row: tuple[Any, ...]) -> None:
    table, name, column_type, nullable, default, extra, generation = row
    built = schema.table(str(table))
    if built is None:  # a view's column, or lamina's
        return
    kind = normalise_type(str(column_type), mysql=True)
    value = _default(server, kind, default, str(extra or "").lower(), generation)
    built.columns.append(Column(str(name).lower(), kind, nullable == "YES", value))


def _default(
    server: _Server, kind: str, default: object, extra: str, generation: object
) -> str | None:
    if "virtual generated" in extra or "stored generated" in extra:
        stored = "stored" if "stored" in extra else "virtual"
        return f"generated always as ({_expression(str(generation))}) {stored}"
    if "auto_increment" in extra:
        return "auto_increment"
    text = None if default is None else str(default)
    literal = not server.mariadb and "default_generated" not in extra
    if text is not None and literal and not is_numeric_type(kind):
        text = "'" + text.replace("'", "''") + "'"  # MySQL 8 reports it without its quotes
    value = normalise_default(_BACKTICKED.sub(r"\1", text) if text else text, kind)
    update = _ON_UPDATE.search(extra)
    if update:
        value = f"{value} on update {normalise_expression(update.group(1))}"
    return value


def _keys_and_indexes(schema: SchemaBuilder, server: _Server, backend: Backend) -> None:
    """Primary, unique and foreign keys, checks and indexes of every table."""
    keys = backend.query(_KEY_COLUMNS)
    statistics = backend.query(_STATISTICS.format("NULL" if server.mariadb else "expression"))
    if server.mariadb:
        server.kinds = _kinds(keys, statistics)
    else:
        server.kinds = {(str(t), str(n)): str(k) for t, n, k in backend.query(_CONSTRAINTS)}
    if "FOREIGN KEY" in server.kinds.values():
        rules = backend.query(_DELETE_RULES)
        server.delete_rules = {(str(t), str(n)): str(r) for t, n, r in rules}
    for rows in _grouped(keys, 2):
        _key(schema, server, rows)
    for table, clause in backend.query(_CHECKS_MARIADB if server.mariadb else _CHECKS_MYSQL):
        built = schema.table(str(table))
        if built is not None:
            built.checks.append(_expression(str(clause)))
    for rows in _grouped(statistics, 2):
        _index(schema, server, rows)


def _kinds(
    keys: list[tuple[Any, ...]], statistics: list[tuple[Any, ...]]
) -> dict[tuple[str, str], str]:
    """MariaDB: each key's kind as ``table_constraints`` gives it, from the key columns and
    the indexes. That view reopens every table's definition (over 1 s at 10,000 tables, even
    with all of them cached); ``PRIMARY`` is the primary key, a key with a referenced table a
    foreign key, and a key with a unique index of its name a UNIQUE constraint."""
    unique = {(str(row[0]), str(row[1])) for row in statistics if not int(row[2])}
    kinds: dict[tuple[str, str], str] = {}
    for table, name, _, _, referenced, _ in keys:
        key = (str(table), str(name))
        if name == "PRIMARY":
            kinds[key] = "PRIMARY KEY"
        elif referenced is not None:
            kinds[key] = "FOREIGN KEY"
        elif key in unique:
            kinds[key] = "UNIQUE"
    return kinds


def _key(schema: SchemaBuilder, server: _Server, rows: list[tuple[Any, ...]]) -> None:
    table, name, _, ref_schema, ref_table, _ = rows[0]
    built = schema.table(str(table))
    kind = server.kinds.get((str(table), str(name)))
    if built is None or kind is None:  # kind None: a CHECK (MySQL lists its columns too)
        return
    columns = tuple(str(r[2]).lower() for r in rows)
    if kind == "PRIMARY KEY":
        built.primary_key = columns
    elif kind == "UNIQUE":
        built.uniques.append(columns)
    else:
        ref = str(ref_table) if ref_schema == server.database else f"{ref_schema}.{ref_table}"
        refs = tuple(str(r[5]).lower() for r in rows)
        action = server.delete_rules.get((str(table), str(name)), "NO ACTION").upper()
        built.foreign_keys.append(ForeignKey(columns, ref, refs, _ON_DELETE.get(action, action)))
        server.fk_names[(built.name, str(name).lower())] = columns


def _index(schema: SchemaBuilder, server: _Server, rows: list[tuple[Any, ...]]) -> None:
    table, name, non_unique, _, _, _, index_type, _ = rows[0]
    built = schema.table(str(table))
    if built is None or not int(non_unique):
        return  # unique keys are UNIQUE constraints, already in built.uniques
    keys = tuple(_key_part(row) for row in rows)
    index_name = str(name).lower()
    if _implicit_fk_index(built, server, index_name, keys):
        return
    method = str(index_type).lower()
    built.indexes.append(
        Index(index_name, keys, False, None, None if method == "btree" else method)
    )


def _key_part(row: tuple[Any, ...]) -> str:
    _, _, _, column, sub_part, collation, _, expression = row
    part = str(column).lower() if column is not None else _expression(str(expression))
    if sub_part is not None:
        part += f"({int(sub_part)})"
    return part + (" desc" if collation == "D" else "")


def _implicit_fk_index(
    built: TableBuilder, server: _Server, name: str, keys: tuple[str, ...]
) -> bool:
    return any(
        keys == columns and name in (fk_name, columns[0])
        for (table, fk_name), columns in server.fk_names.items()
        if table == built.name
    )
