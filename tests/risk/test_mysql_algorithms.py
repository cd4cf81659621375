"""The MariaDB rows of lamina's online-DDL table, proven on the real server.

For every row of ``FACTS`` that decides how the test server runs an operation, an example
ALTER is read by lamina (the same classifier and plan the rule uses, with the live facts) and
must come out as that row's way; then the server must accept the ALTER with exactly that
``ALGORITHM=``/``LOCK=``, refuse it with the next cheaper algorithm and with the next weaker
lock, and rebuild the table (a new InnoDB table id) exactly when the row says the rows are
rewritten. A row the server contradicts fails here, so the catalogue cannot drift from the
engine. The MySQL rows are the MySQL manual's facts; no MySQL server runs here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pymysql
import pytest

from lamina.engines import open_backend
from lamina.engines.mysql import facts as mysql_facts
from lamina.risk.grammar import parse
from lamina.risk.model import LiveFacts
from lamina.risk.rules.base import Context
from lamina.risk.rules.mysql_algorithms import (
    FACTS,
    MARIADB,
    Algorithm,
    Fact,
    Lock,
    Op,
    Way,
    Work,
    fact_for,
)
from lamina.risk.rules.mysql_alter import requests
from lamina.risk.rules.mysql_online import Server, plan, servers
from lamina.risk.state import SchemaSoFar
from lamina.urls import parse_url

#: ER_ALTER_OPERATION_NOT_SUPPORTED and ER_ALTER_OPERATION_NOT_SUPPORTED_REASON.
REFUSED = {1845, 1846}
#: MariaDB's algorithms, cheapest first: NOCOPY is INPLACE without a rebuild.
ALGORITHMS = ("INSTANT", "NOCOPY", "INPLACE", "COPY")

TABLE = """
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  x INT,
  b VARCHAR(50),
  s VARCHAR(20),
  e ENUM('red', 'green'),
  n VARCHAR(20) NOT NULL DEFAULT '',
  g GEOMETRY NOT NULL,
  body TEXT,
  p INT,
  ck INT,
  INDEX i_n (n),
  CONSTRAINT fk0 FOREIGN KEY (p) REFERENCES parent (id),
  CONSTRAINT ck0 CHECK (ck IS NULL OR ck > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""
ROW = (
    "INSERT INTO t (id, x, b, s, e, g, body, p) "
    "VALUES (1, 1, 'b', 's', 'red', POINT(1, 1), 'a b', 1)"
)


@dataclass(frozen=True)
class Example:
    """An ALTER TABLE ``t`` action that is the operation, and what it needs first."""

    change: str
    setup: tuple[str, ...] = ()
    without_key: bool = False  # t has no primary key
    fulltext: bool = False  # t has a FULLTEXT index


EXAMPLES: dict[Op, Example] = {
    Op.ADD_COLUMN_LAST: Example("ADD COLUMN c INT"),
    Op.ADD_COLUMN_PLACED: Example("ADD COLUMN c INT FIRST"),
    Op.ADD_AUTO_INCREMENT_COLUMN: Example("ADD COLUMN c INT NOT NULL AUTO_INCREMENT UNIQUE"),
    Op.ADD_STORED_COLUMN: Example("ADD COLUMN c INT AS (x + 1) STORED"),
    Op.ADD_VIRTUAL_COLUMN: Example("ADD COLUMN c INT AS (x + 1) VIRTUAL"),
    Op.DROP_COLUMN: Example("DROP COLUMN x"),
    Op.RENAME_COLUMN: Example("RENAME COLUMN x TO x2"),
    Op.REORDER_COLUMN: Example("MODIFY x INT FIRST"),
    Op.SET_DEFAULT: Example("ALTER COLUMN x SET DEFAULT 5"),
    Op.EXTEND_ENUM: Example("MODIFY e ENUM('red', 'green', 'blue')"),
    Op.CHANGE_ENUM: Example("MODIFY e ENUM('green', 'red')"),
    Op.GROW_VARCHAR: Example("MODIFY b VARCHAR(60)"),  # 200 -> 240 bytes (utf8mb4)
    Op.GROW_SHORT_VARCHAR: Example("MODIFY s VARCHAR(100)"),  # 80 -> 400 bytes
    Op.GROW_VARCHAR_PAST_255: Example("MODIFY b VARCHAR(100)"),  # 200 -> 400 bytes
    Op.CHANGE_TYPE: Example("MODIFY x BIGINT"),
    Op.CHANGE_CHARSET: Example("MODIFY b VARCHAR(50) CHARACTER SET latin1"),
    Op.CHANGE_NULL: Example("MODIFY x INT NOT NULL"),
    Op.CONVERT_CHARSET: Example("CONVERT TO CHARACTER SET latin1"),
    Op.TABLE_CHARSET: Example("DEFAULT CHARACTER SET latin1"),
    Op.ADD_INDEX: Example("ADD INDEX i_x (x)"),
    Op.ADD_FIRST_FULLTEXT: Example("ADD FULLTEXT INDEX ft (body)"),
    Op.ADD_FULLTEXT: Example("ADD FULLTEXT INDEX ft (body)", fulltext=True),
    Op.ADD_SPATIAL: Example("ADD SPATIAL INDEX sp (g)"),
    Op.DROP_INDEX: Example("DROP INDEX i_n"),
    Op.RENAME_INDEX: Example("RENAME INDEX i_n TO i_n2"),
    Op.ADD_PRIMARY_KEY: Example("ADD PRIMARY KEY (id)", without_key=True),
    Op.DROP_PRIMARY_KEY: Example("DROP PRIMARY KEY"),
    Op.REPLACE_PRIMARY_KEY: Example("DROP PRIMARY KEY, ADD PRIMARY KEY (id, n)"),
    Op.ADD_FOREIGN_KEY: Example("ADD CONSTRAINT fk1 FOREIGN KEY (x) REFERENCES parent (id)"),
    Op.ADD_FOREIGN_KEY_UNCHECKED: Example(
        "ADD CONSTRAINT fk1 FOREIGN KEY (x) REFERENCES parent (id)",
        setup=("SET foreign_key_checks = 0",),
    ),
    Op.DROP_FOREIGN_KEY: Example("DROP FOREIGN KEY fk0"),
    Op.ADD_CHECK: Example("ADD CONSTRAINT ck1 CHECK (x > 0)"),
    Op.DROP_CHECK: Example("DROP CONSTRAINT ck0"),
    Op.REBUILD: Example("FORCE"),
    Op.AUTO_INCREMENT: Example("AUTO_INCREMENT = 100"),
    Op.RENAME_TABLE: Example("RENAME TO t_renamed"),
    Op.TABLE_COMMENT: Example("COMMENT = 'hello'"),
}


# -- the server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_version() -> tuple[int, ...]:
    """The test server's version; these tests are about MariaDB."""
    from support.servers import admin_address, require_server

    require_server("mysql")
    with closing(admin_address("mysql").connect()) as con, con.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version, flavor = mysql_facts.server_of(str(cur.fetchone()[0]))
    if flavor != MARIADB or version is None:
        pytest.skip("the test server is not MariaDB")
    return version


class Table:
    """``t`` in a fresh database, made again before each attempt."""

    def __init__(self, url: str, example: Example, fulltext: bool) -> None:
        self.url = url
        self.example = example
        self.fulltext = fulltext or example.fulltext
        from support.servers import ServerAddress

        address = ServerAddress.parse(url)
        self.database = address.database
        self.con = address.connect()

    def reset(self) -> None:
        """``t`` with one row, the example's setup run on this connection."""
        self.run("SET foreign_key_checks = 0")
        for name in ("t", "t_renamed", "parent"):
            self.run(f"DROP TABLE IF EXISTS {name}")
        self.run("SET foreign_key_checks = 1")
        self.run("CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB")
        self.run("INSERT INTO parent VALUES (1)")
        keyless = TABLE.replace("NOT NULL PRIMARY KEY", "NOT NULL")
        self.run(keyless if self.example.without_key else TABLE)
        self.run(ROW)
        if self.fulltext:
            self.run("ALTER TABLE t ADD FULLTEXT INDEX ft0 (b)")
        for statement in self.example.setup:
            self.run(statement)

    def run(self, sql: str) -> None:
        with self.con.cursor() as cur:
            cur.execute(sql)

    def table_id(self) -> int | None:
        with self.con.cursor() as cur:
            cur.execute(
                "SELECT table_id FROM information_schema.innodb_sys_tables WHERE name = %s",
                (f"{self.database}/t",),
            )
            row = cur.fetchone()
        return int(row[0]) if row else None

    def alter(self, change: str, algorithm: str, lock: str) -> int | None:
        """Run ``ALTER TABLE t <change>`` fresh with these clauses: None when the server
        accepts it, else the error code it refuses it with."""
        self.reset()
        try:
            self.run(f"ALTER TABLE t {change}, ALGORITHM={algorithm}, LOCK={lock}")
        except pymysql.MySQLError as exc:
            return int(exc.args[0])
        return None


@pytest.fixture
def table_for(mysql_url: str) -> Iterator[Any]:
    opened: list[Table] = []

    def make(example: Example, fulltext: bool = False) -> Table:
        table = Table(mysql_url, example, fulltext)
        opened.append(table)
        return table

    yield make
    for table in opened:
        table.con.close()


# -- what lamina reads -----------------------------------------------------------------------


def lamina_plan(table: Table, change: str, version: tuple[int, ...]) -> Any:
    """How lamina says the live server runs ``ALTER TABLE t <change>``: the rule's own
    classifier and plan, with the facts read from the server."""
    table.reset()
    with open_backend(parse_url(table.url)) as backend:
        backend.connect(5)
        live = mysql_facts.read(backend)
    migration = (*table.example.setup, f"ALTER TABLE t {change}")
    nodes = [node for sql in migration for node in parse(sql, "mysql") or []]
    state = SchemaSoFar.start(live, [], "mysql")
    state.statements = tuple(nodes)  # the migration: the setup, then the ALTER
    context = Context("mysql", "up", state, live)
    [request] = requests(nodes[-1], context)
    known = live.table("t")
    fulltext = bool(getattr(known, "fulltext", False))
    return request, plan(request, Server(MARIADB, version, assumed=False), fulltext)


def mariadb_clauses(way: Way) -> tuple[str, str]:
    """``(ALGORITHM, LOCK)`` that asks MariaDB for exactly ``way``."""
    if way.algorithm is Algorithm.INPLACE and way.work < Work.REBUILD:
        return "NOCOPY", way.lock.name
    return way.algorithm.name, way.lock.name


def _params() -> list[Any]:
    """Parametrised without the server: every MariaDB row; those another row overrides on the
    live server skip."""
    return [pytest.param(f, id=_label(f)) for f in FACTS if f.flavor == MARIADB]


def _label(fact: Fact) -> str:
    since = ".".join(str(part) for part in fact.since)
    return f"{fact.op.name}-{since}{'-fulltext' if fact.fulltext else ''}"


def test_every_mariadb_operation_has_an_example() -> None:
    assert {f.op for f in FACTS if f.flavor == MARIADB} <= set(EXAMPLES)


def test_every_operation_is_known_on_both_flavours() -> None:
    for op in Op:
        assert any(f.op is op and f.flavor == MARIADB for f in FACTS), op
        assert any(f.op is op and f.flavor == "mysql" for f in FACTS), op


@pytest.mark.server
@pytest.mark.parametrize("fact", _params())
def test_mariadb_runs_the_operation_as_the_table_says(
    fact: Fact, live_version: tuple[int, ...], table_for: Any
) -> None:
    if fact_for(fact.op, MARIADB, live_version, fulltext=fact.fulltext) is not fact:
        pytest.skip(f"another row decides {fact.op.name} on MariaDB {live_version}")
    example = EXAMPLES[fact.op]
    table = table_for(example, fact.fulltext)
    request, planned = lamina_plan(table, example.change, live_version)
    assert request.changes[0].op is fact.op
    assert planned.way == fact.way
    _server_agrees(table, example.change, fact.way, rename=fact.op is Op.RENAME_TABLE)


@pytest.mark.server
@pytest.mark.parametrize("fact", [p for p in _params() if p.values[0].combined is not None])
def test_an_instant_operation_beside_an_index_build_runs_as_the_table_says(
    fact: Fact, live_version: tuple[int, ...], table_for: Any
) -> None:
    """``combined``: beside an operation that cannot be INSTANT (here a new index), an
    INSTANT column layout change makes the table rebuild; a metadata change stays cheap."""
    if fact_for(fact.op, MARIADB, live_version, fulltext=fact.fulltext) is not fact:
        pytest.skip(f"another row decides {fact.op.name} on MariaDB {live_version}")
    assert fact.combined is not None
    example = EXAMPLES[fact.op]
    table = table_for(example, fact.fulltext)
    change = f"{example.change}, ADD INDEX i_probe (id, n)"
    request, planned = lamina_plan(table, change, live_version)
    assert sorted(c.op.name for c in request.changes) == sorted([fact.op.name, "ADD_INDEX"])
    [part] = [p for p in planned.parts if p.change.op is fact.op]
    assert part.way == fact.combined
    _server_agrees(table, change, planned.way, rename=False)


def _server_agrees(table: Table, change: str, way: Way, *, rename: bool) -> None:
    algorithm, lock = mariadb_clauses(way)
    table.reset()
    before = table.table_id()
    table.run(f"ALTER TABLE t {change}, ALGORITHM={algorithm}, LOCK={lock}")
    if not rename:
        rebuilt = table.table_id() != before
        assert rebuilt == (way.work >= Work.REBUILD), f"{change}: rebuilt={rebuilt}"
    cheaper = ALGORITHMS.index(algorithm) - 1
    if cheaper >= 0:
        assert table.alter(change, ALGORITHMS[cheaper], lock) in REFUSED
    if way.lock > Lock.NONE:
        assert table.alter(change, algorithm, Lock(way.lock - 1).name) in REFUSED


@pytest.mark.server
def test_optimize_table_rebuilds_the_table_in_place(table_for: Any, live_version: Any) -> None:
    """OPTIMIZE TABLE takes no ALGORITHM clause: MariaDB's session default says how it may
    run, and it reports a refusal as an error row rather than an error."""
    assert fact_for(Op.REBUILD, MARIADB, live_version).way == Way(Algorithm.INPLACE, Work.REBUILD)
    table = table_for(Example("FORCE"))
    table.reset()
    for algorithm, refused in (("NOCOPY", True), ("INPLACE", False)):
        with table.con.cursor() as cur:
            cur.execute(f"SET SESSION alter_algorithm = '{algorithm}'")
            cur.execute("OPTIMIZE TABLE t")
            kinds = [str(row[2]).lower() for row in cur.fetchall()]
        assert ("error" in kinds) == refused, (algorithm, kinds)


# -- without a server: which row decides --------------------------------------------------


def test_the_latest_row_at_or_below_the_version_decides() -> None:
    placed = Op.ADD_COLUMN_PLACED
    assert fact_for(placed, "mysql", (8, 0, 28)).way.work is Work.REBUILD
    assert fact_for(placed, "mysql", (8, 0, 29)).way.algorithm is Algorithm.INSTANT
    assert fact_for(placed, MARIADB, (10, 3, 39)).way.work is Work.REBUILD
    assert fact_for(placed, MARIADB, (10, 4)).way.algorithm is Algorithm.INSTANT
    assert fact_for(Op.RENAME_INDEX, MARIADB, (10, 4)) is None  # no RENAME INDEX before 10.5.2
    assert fact_for(Op.REBUILD, "mysql", (8, 0, 36), fulltext=True).way.algorithm is Algorithm.COPY
    assert fact_for(Op.ADD_INDEX, MARIADB, (10, 11), fulltext=True).way.work is Work.INDEX


def test_without_a_version_the_oldest_servers_are_assumed() -> None:
    assert servers(LiveFacts()) == (
        Server("mysql", (5, 7), assumed=True),
        Server(MARIADB, (10, 2), assumed=True),
    )
    assert servers(LiveFacts(flavor=MARIADB)) == (Server(MARIADB, (10, 2), assumed=True),)
    assert servers(LiveFacts(server_version=(8, 0, 36))) == (
        Server("mysql", (8, 0, 36), assumed=False),
    )
    assert servers(LiveFacts(server_version=(11, 4))) == (Server(MARIADB, (11, 4), False),)
