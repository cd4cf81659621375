"""Names vulture cannot see being used: framework entry points and public API read by users.

Each line is a use, with the reason. Checked by `.ci/run` (`vulture`, configured in
pyproject.toml); anything else unused fails CI.
"""

from lamina import __getattr__  # PEP 562: the lazy public API, called by the import system
from lamina.cli.commands import backups, checking
from lamina.config import Settings
from lamina.discovery import FileCache
from lamina.engines import EngineSpec
from lamina.engines.sqlite.backend import busy_sleep_ms
from lamina.graph import DependencyGraph
from lamina.models import Category
from lamina.risk.grammar import arg_types  # sqlglot reads it off the expression class
from lamina.schema import Snapshot
from lamina.testing import pytest_addoption, pytest_generate_tests  # pytest hooks

__getattr__
backups.backup_list  # click commands: registered by their decorators
backups.backup_create
backups.backup_restore
checking.diff_command  # `lamina diff`: named in cli.commands.COMMANDS, looked up by name
Settings.database_origin  # public: which setting gave the URL (status shows it)
EngineSpec.schemes  # public: the URL schemes an engine answers to
busy_sleep_ms  # named by SQLite's Capabilities.handoff ("module:function"), called by name
DependencyGraph.ancestors  # public graph API, used by tests and library users
DependencyGraph.descendants
Category.INDEX  # enum members users write in their migrations
Category.CONSTRAINT
arg_types
Snapshot.sequences  # public: the names of the snapshot's sequences
pytest_addoption
pytest_generate_tests
_read_timeout  # set on PyMySQL's connection (no public setter): the driver reads it
FileCache.reads  # what tests observe of the cache (tests/api/test_lamina_operations.py)
LockMode.ROW_SHARE  # a PostgreSQL lock mode: tests and LockMode[...] look it up by name
LockMode.pg_locks_name
TableFacts.has_index  # public: the facts a rule may read
LiveFacts.of_indexes  # building facts by hand: tests and library users
