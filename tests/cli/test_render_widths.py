"""``status`` and ``history`` read at 80 and 120 columns: rendered by rich's recording console
from a real DuckDB database whose migrations have timestamp ids (``20261203184512_add_users``).
Every id appears whole, states and dates are never cut to an ellipsis, and no line of a table
is wider than the console (sentences around the status table are left to the terminal to
wrap, as before, so that a command in them is never broken in two)."""

from __future__ import annotations

import importlib
import io
import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from lamina import ExecutionError, Lamina, MigrationState, StatusReport
from lamina.cli.render.history import history
from lamina.cli.render.status import status
from lamina.config import load_settings
from lamina.models import AuditEvent

WIDTHS = (80, 120)

APPLIED = {
    "20261203184512_add_users.sql": """
        -- migrate:up
        CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR);
        -- migrate:down
        DROP TABLE users;
    """,
    "20261203184601_add_application_settings_table.sql": """
        -- migrate:up
        CREATE TABLE application_settings (name VARCHAR PRIMARY KEY, value VARCHAR);
        -- migrate:down
        DROP TABLE application_settings;
    """,
    "20261204090000_backfill_user_emails.sql": """
        -- name: Backfill emails from the legacy accounts table
        -- category: data
        -- migrate:up
        INSERT INTO users VALUES (1, 'a@example.com');
        -- migrate:down
        DELETE FROM users WHERE id = 1;
    """,
    "20261205120000_create_indexes.sql": """
        -- category: index
        -- migrate:up
        CREATE INDEX users_email ON users (email);
        -- migrate:down
        DROP INDEX users_email;
    """,
}
FAILING = """
    -- migrate:up
    INSERT INTO no_such_table VALUES (1);
    -- migrate:down
    SELECT 1;
"""
LATE = """
    -- migrate:up
    CREATE TABLE user_roles (user_id INTEGER, role VARCHAR);
    -- migrate:down
    DROP TABLE user_roles;
"""


def write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture
def lamina(tmp_path: Path) -> Lamina:
    """A DuckDB database with every state the table shows: applied, modified (its file edited
    since), pending, pending out of order; and a failed run in the audit log."""
    folder = tmp_path / "migrations"
    settings = load_settings(
        {
            "database_url": f"duckdb:///{tmp_path / 'app.duckdb'}",
            "migrations_dir": str(folder),
            "backup_enabled": False,
        },
        environ={},
        cwd=tmp_path,
    )
    write(folder, APPLIED)
    Lamina(settings).up()
    write(folder, {"20261206101500_add_audit_trail.sql": FAILING})
    with pytest.raises(ExecutionError):
        Lamina(settings).up()
    write(folder, {"20261204120000_add_user_roles.sql": LATE})
    edited = folder / "20261205120000_create_indexes.sql"
    edited.write_text(edited.read_text(encoding="utf-8") + "-- edited\n", encoding="utf-8")
    return Lamina(settings)


def rendered(monkeypatch: pytest.MonkeyPatch, width: int, draw: Callable[[], None]) -> str:
    """What ``draw`` prints on a console ``width`` columns wide, as plain text."""
    out = Console(record=True, width=width, file=io.StringIO())
    for module in ("status", "history", "common"):  # the package's names hide the modules
        monkeypatch.setattr(
            importlib.import_module(f"lamina.cli.render.{module}"), "console", lambda: out
        )
    draw()
    return out.export_text()


def compact(iso: str) -> str:
    """The date a table shows for ``iso``: ``12-07 15:50`` this year, else the day."""
    return iso[5:16].replace("T", " ") if iso[:4] == str(datetime.now(UTC).year) else iso[:10]


def row_of(text: str, first: str) -> str:
    [line] = [line for line in text.splitlines() if line.split()[:1] == [first]]
    return line


def table_of(text: str) -> str:
    """The status table: from its header line to the blank line after it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("id "))
    return "\n".join(lines[start : lines.index("", start)])


def fits(table: str, width: int) -> None:
    wide = [line for line in table.splitlines() if cell_len(line) > width]
    assert not wide, f"lines wider than {width} columns: {wide}"
    assert "…" not in table


@pytest.mark.parametrize("width", WIDTHS)
def test_status_table_shows_ids_states_and_dates_whole(
    lamina: Lamina, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    report: StatusReport = lamina.status()
    states = {m.id: m.state for m in report.migrations}
    assert set(states.values()) == {
        MigrationState.APPLIED,
        MigrationState.MODIFIED,
        MigrationState.PENDING,
    }
    assert any(m.out_of_order for m in report.migrations)
    text = table_of(rendered(monkeypatch, width, lambda: status(report)))

    fits(text, width)
    for m in report.migrations:
        row = row_of(text, m.id)  # the id whole, at the start of its row
        word = "out of order" if m.out_of_order else m.state.value
        assert f"  {word}" in row, (m.id, row)
        if m.applied_at is not None:
            assert row.rstrip().endswith(compact(m.applied_at)), row
    if width == 120:  # room for the name that says more than its id
        assert "Backfill emails from the legacy accounts table" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_an_id_too_long_to_leave_room_for_the_date_stays_whole(
    lamina: Lamina, monkeypatch: pytest.MonkeyPatch, width: int, tmp_path: Path
) -> None:
    long_id = "20261207000000_backfill_the_customer_ledger_from_old_invoice"
    assert len(long_id) == 60  # with "out of order" beside it, no room for a date at 80
    write(tmp_path / "migrations", {f"{long_id}.sql": LATE.replace("user_roles", "ledger")})
    report = lamina.status()
    text = table_of(rendered(monkeypatch, width, lambda: status(report)))

    fits(text, width)
    assert row_of(text, long_id).split()[-1] == "pending"
    rows = [row_of(text, m.id) for m in report.migrations]
    dated = any(re.search(r"  \d\d-\d\d \d\d:\d\d$", row.rstrip()) for row in rows)
    assert dated == (width == 120)  # at 80 the date went so that the ids stay whole


@pytest.mark.parametrize("width", WIDTHS)
def test_history_shows_actions_ids_and_the_failure_whole(
    lamina: Lamina, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    events: list[AuditEvent] = lamina.history()
    [failure] = [e for e in events if e.action == "fail"]
    assert failure.detail and "no_such_table" in failure.detail
    text = rendered(monkeypatch, width, lambda: history(events))

    fits(text, width)
    rows = [line for line in text.splitlines() if re.match(r"\d\d-\d\d \d\d:\d\d  ", line)]
    assert len(rows) == len(events)
    for event, row in zip(events, rows, strict=True):
        assert row.startswith(compact(event.at)), row
        assert row.split()[2:4] == [event.action, event.migration_id], row
    # The failure's detail is shown, wrapped if need be, beside its row or under its id.
    assert "no_such_table" in " ".join(text.split())
