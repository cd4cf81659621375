"""MySQL's and MariaDB's own rules: how each ALTER runs, and what outlives a statement.

How InnoDB runs an operation is data (:mod:`~lamina.risk.rules.mysql_algorithms`), which
statement asks for which operations is :mod:`~lamina.risk.rules.mysql_alter` and
:mod:`~lamina.risk.rules.mysql_columns`, and the finding is
:mod:`~lamina.risk.rules.mysql_online`. Implicit commits, ``foreign_key_checks``, ``LOCK
TABLES`` and ``RENAME TABLE`` are :mod:`~lamina.risk.rules.mysql_session`.
"""

from __future__ import annotations

from lamina.risk.rules.base import Rule
from lamina.risk.rules.mysql_online import mysql_alter_algorithm
from lamina.risk.rules.mysql_session import (
    mysql_foreign_key_checks,
    mysql_lock_tables,
    mysql_not_atomic,
    mysql_rename_table,
)

#: mysql's statement rules, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = (
    mysql_rename_table,
    mysql_alter_algorithm,
    mysql_lock_tables,
    mysql_foreign_key_checks,
    mysql_not_atomic,
)

#: Leading words of statements sqlglot reads only as a Command that are harmless here (see
#: :data:`lamina.risk.rules.UNDERSTOOD`): they lock nothing worth reporting and lose nothing.
UNDERSTOOD: tuple[tuple[str, ...], ...] = (
    ("UNLOCK TABLES",),  # releases what LOCK TABLES took
    ("CREATE", "INDEX"),  # with ALGORITHM= / LOCK=: built online (FULLTEXT is reported)
    ("REPLACE", "INTO"),  # an INSERT that overwrites rows with the same key
    ("GRANT",),
    ("REVOKE",),
    ("CREATE", "USER"),
    ("CREATE", "TRIGGER"),
    ("CREATE", "DEFINER"),  # CREATE DEFINER=... TRIGGER | EVENT | VIEW
    ("CREATE", "EVENT"),
    ("ALTER", "DATABASE"),  # changes the defaults for new tables only
    ("ALTER", "SCHEMA"),
)
