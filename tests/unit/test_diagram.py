"""lamina graph: the drawing of migrations and their dependencies."""

from __future__ import annotations

from lamina.diagram import render
from lamina.models import MigrationState, MigrationStatus, StatusReport


def status(*rows: tuple[str, str, MigrationState]) -> StatusReport:
    migrations = tuple(
        MigrationStatus(mid, int(mid.split("_")[0]), name, "schema", state)
        for mid, name, state in rows
    )
    return StatusReport(migrations=migrations, current_version=0)


REPORT = status(
    ("001_users", "Create users", MigrationState.APPLIED),
    ("002_posts", 'Posts "v2"', MigrationState.APPLIED),
    ("003_index", "Index posts", MigrationState.PENDING),
    ("004_fix", "Fix", MigrationState.FAILED),
)
PARENTS = {"003_index": ("002_posts",), "004_fix": ("001_users", "003_index")}


def test_text_marks_states_and_lists_dependencies() -> None:
    lines = render(REPORT, PARENTS, "text").splitlines()
    assert lines[0].startswith("● 001_users")
    assert lines[2].startswith("○ 003_index") and lines[2].endswith("← 002_posts")
    assert lines[3].startswith("✗ 004_fix") and "[failed]" in lines[3]
    assert lines[3].endswith("← 001_users, 003_index")


def test_mermaid_draws_declared_and_implied_edges() -> None:
    text = render(REPORT, PARENTS, "mermaid")
    assert text.startswith("flowchart TD\n")
    assert 'm1["002_posts<br/>Posts #quot;v2#quot;<br/><i>applied</i>"]:::applied' in text
    assert "m0 -.-> m1" in text  # 002 declares nothing: it follows 001 in lamina's order
    assert "m1 --> m2" in text  # declared
    assert "m0 --> m3" in text and "m2 --> m3" in text
    assert "m2 -.-> m3" not in text  # a declared dependency replaces the implied edge
    assert ":::problem" in text and ":::pending" in text


def test_dot_is_valid_quoting_and_dashes_the_implied_order() -> None:
    text = render(REPORT, PARENTS, "dot")
    assert text.startswith("digraph migrations {") and text.rstrip().endswith("}")
    assert '"001_users" -> "002_posts" [style=dashed];' in text
    assert '"002_posts" -> "003_index";' in text
    assert 'label="002_posts\\nPosts \\"v2\\"\\n(applied)"' in text


def test_an_empty_set_draws_nothing_but_the_frame() -> None:
    empty = status()
    assert render(empty, {}, "text") == ""
    assert render(empty, {}, "dot").startswith("digraph")
