"""``lamina graph --json`` (docs/json.md): the library's document, printed as is, on every
engine; a cycle is one document with ``ok`` false and exit 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lamina import Lamina, documents
from support.serving import free_port
from support.texts import USERS, creates_table

DOCS = Path(__file__).parents[2] / "docs" / "json.md"
POSTS = "-- depends: 001_users\n" + creates_table("posts").lstrip("\n")
NOTES = creates_table("notes")


def test_the_graph_document_is_the_librarys(run, make_migrations, settings_for) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    assert run("up").exit_code == 0
    make_migrations({"003_notes.sql": NOTES})
    printed = run("graph", "--json")
    assert printed.exit_code == 0, printed.output
    document: dict[str, Any] = json.loads(printed.stdout)
    expected = documents.graph_document(*Lamina(settings_for()).graph())
    assert document == json.loads(json.dumps(expected))
    assert next(iter(document)) == "schema_version" and document["ok"] is True
    nodes = {node["id"]: node for node in document["nodes"]}
    assert list(nodes) == ["001_users", "002_posts", "003_notes"]  # the order lamina applies
    assert [nodes[i]["status"] for i in nodes] == ["applied", "applied", "pending"]
    assert [nodes[i]["depends_on"] for i in nodes] == [[], ["001_users"], []]
    assert nodes["002_posts"]["version"] == 2 and nodes["001_users"]["applied_at"]
    assert document["edges"] == [{"from": "001_users", "to": "002_posts"}]
    assert printed.stderr == ""
    assert json.loads(run("graph", "--format", "dot", "--json").stdout) == document


def test_a_cycle_is_one_document_that_exits_1(run, make_migrations) -> None:
    make_migrations(
        {
            "001_a.sql": "-- depends: 002_b\n" + creates_table("a").lstrip("\n"),
            "002_b.sql": "-- depends: 001_a\n" + creates_table("b").lstrip("\n"),
        }
    )
    printed = run("graph", "--json")
    assert printed.exit_code == 1
    document = json.loads(printed.stdout)  # one document: no error document after it
    assert document["ok"] is False
    assert "cycle" in [p["code"] for p in document["problems"]]
    assert {e["from"] for e in document["edges"]} == {"001_a", "002_b"}
    assert printed.stderr == ""


def test_an_unreachable_database_is_an_error_document(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    url = f"postgresql://app:secret-pw@127.0.0.1:{free_port()}/app"
    printed = run("--database-url", url, "graph", "--json")
    assert printed.exit_code == 1
    document = json.loads(printed.stdout)
    assert document["kind"] == "BackendUnavailableError"
    assert "secret-pw" not in printed.output


def test_the_graph_document_is_in_the_docs() -> None:
    assert "`documents.graph_document(" in DOCS.read_text(encoding="utf-8")
