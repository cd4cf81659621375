"""Which statements lamina refuses on a Galera cluster, read from the SQL alone (no cluster):
what Galera cannot replicate is refused, and look-alikes (a column named ``engine``, a comment
or a string mentioning MyISAM, InnoDB tables) are not."""

from __future__ import annotations

import pytest

from lamina.engines.mysql.galera import is_galera, not_ready_problem, refusal


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=MyISAM",
        "create table t (id int primary key) engine = aria",
        "CREATE TABLE t (id INT) ENGINE MEMORY DEFAULT CHARSET=utf8mb4",
        "CREATE TABLE t (id INT PRIMARY KEY) /*!50100 ENGINE=MyISAM */",
        "ALTER TABLE t ENGINE=MyISAM",
        "CREATE OR REPLACE TABLE t (id INT) ENGINE=CSV",
        "LOCK TABLES t WRITE",
        "lock table t read",
        "SET SESSION wsrep_OSU_method = 'RSU'",
        "SET @@session.wsrep_osu_method = RSU",
        "SET wsrep_on = OFF",
        "SET SESSION wsrep_on = 0",
        "SET default_storage_engine = MyISAM",
    ],
)
def test_refused_on_galera(sql: str) -> None:
    found = refusal(sql)
    assert found is not None
    reason, hint = found
    assert "refused" in reason
    assert "README, MariaDB Galera Cluster" in hint


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB",
        "CREATE TABLE engines (id INT PRIMARY KEY, engine VARCHAR(20) NOT NULL)",
        "CREATE TABLE t (id INT PRIMARY KEY, `engine` TEXT)",
        "CREATE TABLE t (id INT PRIMARY KEY) -- ENGINE=MyISAM was the old way",
        "INSERT INTO notes VALUES ('ENGINE=MyISAM')",
        "ALTER TABLE t ADD COLUMN engine VARCHAR(10)",
        "SET wsrep_on = ON",
        "SET SESSION wsrep_OSU_method = 'TOI'",
        "SET default_storage_engine = InnoDB",
        "UPDATE settings SET value = 'LOCK TABLES'",
        "SELECT 'SET wsrep_on = OFF'",
    ],
)
def test_allowed_on_galera(sql: str) -> None:
    assert refusal(sql) is None


def test_a_galera_node_is_recognised_by_wsrep_on() -> None:
    assert is_galera([("wsrep_on", "ON")])
    assert not is_galera([("wsrep_on", "OFF")])
    assert not is_galera([])  # MySQL has no such variable


def test_a_node_outside_the_primary_component_is_named_as_such() -> None:
    assert not_ready_problem([("wsrep_ready", "ON")]) is None
    problem = not_ready_problem(
        [
            ("wsrep_ready", "OFF"),
            ("wsrep_cluster_status", "non-Primary"),
            ("wsrep_local_state_comment", "Initialized"),
        ]
    )
    assert problem is not None
    assert "non-Primary" in problem and "primary component" in problem
