"""The text of SQL migrations: the ``.sql`` file format, and dialect-aware statement splitting.

Everything here is pure: strings in, records out. No files, no environment, no output.

A ``.sql`` migration (dbmate style)::

    -- name: Create users
    -- category: schema
    -- depends: 001_init, 2
    -- transactional: false

    -- migrate:up
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);

    -- migrate:down transaction:false
    DROP TABLE users;

A marker line may carry dbmate's options, space-separated ``key:value`` words: ``transaction:false``
runs that section outside a transaction. Options lamina does not know are kept in
:attr:`SqlSection.unknown_options` (callers warn about them).

Splitting a script into statements uses sqlglot's tokenizer for the target dialect, so semicolons
inside strings, comments, quoted identifiers and ``$$`` bodies never split. sqlglot is imported
lazily, and only when a script could not be split with certainty without it (see
:func:`~lamina.sqltext.splitting._fast_split`): a plain ``ALTER TABLE ...`` costs no import at all.
"""

from __future__ import annotations

from lamina.sqltext.sections import (
    SqlFormatError,
    SqlHeaders,
    SqlSection,
    SqlSource,
    parse_sql_migration,
)
from lamina.sqltext.splitting import Statement, has_statements, split_segments, split_statements
from lamina.sqltext.transactions import (
    TransactionControl,
    controls_transaction,
    find_transaction_control,
    is_data_statement,
)

__all__ = [
    "SqlFormatError",
    "SqlHeaders",
    "SqlSection",
    "SqlSource",
    "Statement",
    "TransactionControl",
    "controls_transaction",
    "find_transaction_control",
    "has_statements",
    "is_data_statement",
    "parse_sql_migration",
    "split_segments",
    "split_statements",
]
