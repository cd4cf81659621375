"""Migration sets of N trivial migrations, written once per N for lamina, alembic and yoyo.

Every tool gets the same N migrations, migration i being ``CREATE TABLE t_i (id int primary
key, v text)`` up and ``DROP TABLE t_i`` down, in the format that tool reads. The statements
are deliberately trivial so the figures show each tool's own overhead, not the database's
work. The floor (floor.py) reads lamina's files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

UP_SQL = "CREATE TABLE t_{i} (id int primary key, v text)"
DOWN_SQL = "DROP TABLE t_{i}"

# The alembic environment: the URL comes from the environment so one set serves every engine.
# One transaction per migration, as lamina and the floor do (alembic's default is one for the
# whole upgrade). No logging configuration: the leanest alembic, the hardest to beat.
ALEMBIC_ENV = '''\
"""alembic environment for the benchmark: online mode, one transaction per migration."""

import os

from alembic import context
from alembic.ddl.impl import DefaultImpl
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool


class AlembicDuckDBImpl(DefaultImpl):
    """What duckdb_engine's README asks env.py to declare: alembic knows no DuckDB dialect."""

    __dialect__ = "duckdb"
    transactional_ddl = True


engine = create_engine(os.environ["BENCH_DB_URL"], poolclass=NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
'''

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s
"""

ALEMBIC_REVISION = '''\
"""t_{i}"""

from alembic import op

revision = "{rev}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade():
    op.execute("{up}")


def downgrade():
    op.execute("{down_sql}")
'''


@dataclass(frozen=True)
class MigrationSet:
    """Where one N's migrations live, per tool."""

    n: int
    lamina: Path  # <version>_<slug>.sql files with -- migrate:up / -- migrate:down
    alembic_ini: Path  # alembic.ini of a project whose versions/ holds N revisions
    yoyo: Path  # <version>_<slug>.sql and .rollback.sql files


def version_width(n: int) -> int:
    """Zero-padding of the versions: at least 5 digits (00001_t_1.sql), more for huge N."""
    return max(5, len(str(n)))


def write_set(root: Path, n: int) -> MigrationSet:
    """Write (once) the three formats of N migrations under ``root/<n>``."""
    base = root / str(n)
    mset = MigrationSet(n, base / "lamina", base / "alembic" / "alembic.ini", base / "yoyo")
    marker = base / ".complete"
    if marker.exists():
        return mset
    width = version_width(n)
    _write_lamina(mset.lamina, n, width)
    _write_alembic(mset.alembic_ini.parent, n, width)
    _write_yoyo(mset.yoyo, n, width)
    marker.write_text("ok\n")
    return mset


def _write_lamina(folder: Path, n: int, width: int) -> None:
    """lamina's (and dbmate's) format; also what floor.py reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        text = f"-- migrate:up\n{UP_SQL.format(i=i)};\n\n-- migrate:down\n{DOWN_SQL.format(i=i)};\n"
        (folder / f"{i:0{width}d}_t_{i}.sql").write_text(text)


def _write_alembic(project: Path, n: int, width: int) -> None:
    """A linear chain of revisions r<version>, each with plain ``op.execute(...)``."""
    versions = project / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (project / "alembic.ini").write_text(ALEMBIC_INI)
    (project / "env.py").write_text(ALEMBIC_ENV)
    for i in range(1, n + 1):
        rev = f"r{i:0{width}d}"
        down = "None" if i == 1 else f'"r{i - 1:0{width}d}"'
        text = ALEMBIC_REVISION.format(
            i=i, rev=rev, down=down, up=UP_SQL.format(i=i), down_sql=DOWN_SQL.format(i=i)
        )
        (versions / f"{rev}_t_{i}.py").write_text(text)


def _write_yoyo(folder: Path, n: int, width: int) -> None:
    """yoyo's SQL format: the up file and a ``.rollback.sql`` beside it, applied by name order."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        stem = f"{i:0{width}d}_t_{i}"
        (folder / f"{stem}.sql").write_text(f"{UP_SQL.format(i=i)};\n")
        (folder / f"{stem}.rollback.sql").write_text(f"{DOWN_SQL.format(i=i)};\n")
