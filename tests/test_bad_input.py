"""Bad input: properties of lamina's parsers, and malformed migration files through the real CLI.

The properties add what ``tests/unit`` does not already check: semicolons forced into every
kind of quoting (dollar quotes, quoted identifiers, nested and hash comments, trigger bodies),
the ``.sql`` section and header parser on arbitrary and on well-formed files, the static
``.py`` metadata reader, and ``parse_url`` on arbitrary text and arbitrary printable passwords.

The corpus runs each malformed file through ``python -m lamina up`` and ``lamina validate`` as
real processes on a DuckDB file. Each must give ONE ``error:`` line naming the file (and its
line where one is known), exit 1, no traceback, and apply nothing.

Not covered on purpose: a migration calling ``os._exit()`` ends the process at once, below
Python's exception handling, so no error can be printed. It is what ``kill -9`` does, and
``tests/test_processes.py`` and ``benchmarks/soak.py`` check what a killed run leaves.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lamina.sqltext import (
    SqlFormatError,
    SqlHeaders,
    SqlSource,
    parse_sql_migration,
    split_segments,
    split_statements,
)
from lamina.staticmeta import NEEDS_IMPORT, MetaError, PyDeclared, read_py_meta, read_sql_meta
from lamina.urls import URLError, parse_url
from support.processes import lamina_env

DIALECTS = ("duckdb", "sqlite", "postgres", "mysql")
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------------
# split_statements / split_segments: semicolons hidden in every kind of quoting
# --------------------------------------------------------------------------------------------

#: Printable text on one line: no line breaks of any kind, no surrogates.
ONE_LINE = st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=8)
#: One-line text with at least one semicolon in it.
WITH_SEMICOLON = st.builds(lambda head, tail: f"{head};{tail}", ONE_LINE, ONE_LINE)


def _string(text: str, dialect: str) -> str:
    if dialect == "mysql":
        text = text.replace("\\", "\\\\")
    return "'" + text.replace("'", "''") + "'"


def _identifier(text: str, dialect: str) -> str:
    if dialect == "mysql":
        return "`" + text.replace("`", "``") + "`"
    return '"' + text.replace('"', '""') + '"'


def _comment_body(text: str) -> str:
    return text.replace("*/", "* /").replace("/*", "/ *")


def _trigger(draw: st.DrawFn, dialect: str) -> str:
    """A trigger whose body holds statements of its own, each with a ``;`` in a string."""
    inner = draw(st.lists(WITH_SEMICOLON, min_size=1, max_size=3))
    body = " ".join(f"UPDATE t SET a = {_string(value, dialect)};" for value in inner)
    each_row = " FOR EACH ROW" if dialect == "mysql" else ""
    return f"CREATE TRIGGER trg AFTER INSERT ON t{each_row} BEGIN {body} END"


def _dollar(draw: st.DrawFn, text: str) -> str:
    tag = draw(st.from_regex(r"([A-Za-z_][A-Za-z0-9_]{0,4})?", fullmatch=True))
    return f"SELECT ${tag}${text.replace('$', '')}${tag}$"


@st.composite
def hidden_semicolon(draw: st.DrawFn, dialect: str) -> tuple[str, str]:
    """One statement with a ``;`` that must not split it: (as written, the statement's sql)."""
    text = draw(WITH_SEMICOLON)
    body = _comment_body(text)
    # kind: (as written, expected sql), for the dialects that have that kind of quoting
    kinds = {
        "string": lambda: f"SELECT {_string(text, dialect)}",
        "identifier": lambda: f"SELECT 1 AS {_identifier(text, dialect)}",
        "inner_comment": lambda: f"SELECT /* {body} */ 1",
        "line_comment": lambda: (f"SELECT 2 -- {text}\n", "SELECT 2"),
        "leading_comment": lambda: (f"/* {body} */ SELECT 4", "SELECT 4"),
    }
    if dialect in ("postgres", "duckdb"):
        kinds["dollar"] = lambda: _dollar(draw, text)
    if dialect == "postgres":
        kinds["nested_comment"] = lambda: f"SELECT /* a /* {body} */ b; */ 1"
    if dialect == "mysql":
        kinds["hash_comment"] = lambda: (f"SELECT 3 # {text}\n", "SELECT 3")
    if dialect in ("sqlite", "mysql"):
        kinds["trigger"] = lambda: _trigger(draw, dialect)
    built = kinds[draw(st.sampled_from(sorted(kinds)))]()
    return (built, built) if isinstance(built, str) else built


@PROPERTY
@given(data=st.data(), dialect=st.sampled_from(DIALECTS), trailing=st.booleans())
def test_hidden_semicolons_never_split_a_statement(
    data: st.DataObject, dialect: str, trailing: bool
) -> None:
    pieces = data.draw(st.lists(hidden_semicolon(dialect), min_size=1, max_size=5))
    script = ";\n".join(written for written, _ in pieces) + (";" if trailing else "")

    statements = split_statements(script, dialect)
    segments = split_segments(script, dialect)

    assert [s.sql for s in statements] == [expected for _, expected in pieces]
    assert len(segments) == len(pieces)
    assert "".join(segments) == script


# --------------------------------------------------------------------------------------------
# parse_sql_migration: only SqlFormatError, and well-formed files round-trip
# --------------------------------------------------------------------------------------------

SOUP_LINES = st.one_of(
    st.sampled_from(
        [
            "-- migrate:up",
            "-- migrate:down",
            "--MIGRATE:UP extra",
            "  -- migrate:down  ",
            "-- name: a name",
            "-- name: again",
            "-- category: data",
            "-- category: nope",
            "-- transactional: maybe",
            "-- transactional: off",
            "-- depends: 1, 2",
            "-- depends-on:",
            "-- : no key",
            "/* open",
            "still open */",
            "/* a */ SELECT 1;",
            "*/",
            "SELECT 1;",
            "# hash",
            "",
            "\ufeff-- migrate:up",
        ]
    ),
    ONE_LINE,
)


@PROPERTY
@given(
    lines=st.lists(SOUP_LINES, max_size=12),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
)
def test_the_section_parser_only_ever_raises_sql_format_error(
    lines: list[str], newline: str, bom: bool
) -> None:
    text = ("\ufeff" if bom else "") + newline.join(lines)
    try:
        source = parse_sql_migration(text)
    except SqlFormatError as exc:
        assert str(exc)
        assert exc.line is None or 1 <= exc.line <= max(len(lines), 1)
        return
    assert isinstance(source, SqlSource)
    file_lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # Each section starts on the line after its marker.
    assert "migrate:up" in file_lines[source.up.first_line - 2].lower()
    if source.down is not None:
        assert "migrate:down" in file_lines[source.down.first_line - 2].lower()


@PROPERTY
@given(text=st.text(max_size=300))
def test_arbitrary_text_gives_a_source_or_a_sql_format_error(text: str) -> None:
    with contextlib.suppress(SqlFormatError):
        parse_sql_migration(text)
    with contextlib.suppress(MetaError):
        read_sql_meta(text, "slug")


HEADER_TEXT = ONE_LINE.filter(lambda value: "\r" not in value and "\n" not in value)
BODY_LINE = ONE_LINE.filter(lambda line: "migrate:" not in line.lower())
IDS = st.lists(st.from_regex(r"[0-9a-z_]{1,8}", fullmatch=True), min_size=1, max_size=3)


def _random_case(draw: st.DrawFn, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if flip else c for c, flip in zip(word, flips, strict=True))


@st.composite
def well_formed_files(draw: st.DrawFn) -> tuple[str, SqlHeaders, str, str | None, int, int]:
    """A valid ``.sql`` migration: (text, headers, up sql, down sql, up line, down line)."""
    headers: dict[str, object] = {}
    lines: list[str] = []
    if draw(st.booleans()):
        value = draw(HEADER_TEXT)
        headers["name"] = value.strip()
        lines.append(f"-- name: {value}")
    if draw(st.booleans()):
        value = draw(HEADER_TEXT)
        headers["description"] = value.strip()
        lines.append(f"--description:{value}")
    if draw(st.booleans()):
        value = draw(st.sampled_from(["schema", "data", "index", "constraint"]))
        headers["category"] = value
        lines.append(f"-- category:  {_random_case(draw, value)} ")
    if draw(st.booleans()):
        ids = draw(IDS)
        headers["depends"] = tuple(ids)
        key = draw(st.sampled_from(["depends", "depends-on", "depends_on"]))
        lines.append(f"-- {key}: {', '.join(ids)}")
    if draw(st.booleans()):
        word = draw(st.sampled_from(["true", "yes", "on", "false", "no", "off"]))
        headers["transactional"] = word in ("true", "yes", "on")
        lines.append(f"-- transactional: {_random_case(draw, word)}")
    lines = draw(st.permutations(lines))
    # Comments without a colon and blank lines may stand among the headers.
    for _ in range(draw(st.integers(0, 3))):
        filler = draw(st.sampled_from(["", "-- just a note", "/* a block */", "# hash"]))
        lines.insert(draw(st.integers(0, len(lines))), filler)
    up_lines = draw(st.lists(BODY_LINE, max_size=5))
    has_down = draw(st.booleans())
    down_lines = draw(st.lists(BODY_LINE, max_size=5)) if has_down else []
    up_line = len(lines) + 2
    parts = [*lines, "-- migrate:up", *up_lines]
    if has_down:
        parts += ["-- migrate:down", *down_lines]
        up_sql = "".join(f"{line}\n" for line in up_lines)
        down_sql: str | None = "\n".join(down_lines)
    else:
        up_sql = "\n".join(up_lines)
        down_sql = None
    down_line = up_line + len(up_lines) + 1
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ("\ufeff" if draw(st.booleans()) else "") + newline.join(parts)
    return text, SqlHeaders(**headers), up_sql, down_sql, up_line, down_line  # type: ignore[arg-type]


@PROPERTY
@given(case=well_formed_files())
def test_well_formed_files_round_trip_headers_and_sections(
    case: tuple[str, SqlHeaders, str, str | None, int, int],
) -> None:
    text, headers, up_sql, down_sql, up_line, down_line = case
    source = parse_sql_migration(text)
    assert source.headers == headers
    assert (source.up.sql, source.up.first_line) == (up_sql, up_line)
    if down_sql is None:
        assert source.down is None
    else:
        assert source.down is not None
        assert (source.down.sql, source.down.first_line) == (down_sql, down_line)


# --------------------------------------------------------------------------------------------
# read_py_meta: only MetaError (or "import it"), whatever the class attributes hold
# --------------------------------------------------------------------------------------------

HASHABLE = st.recursive(
    st.one_of(
        st.integers(-(10**30), 10**30).map(str),
        st.text(max_size=5).map(repr),
        st.sampled_from(["True", "False", "None", "...", "1.5", "-3", "1j", "b'x'", "name"]),
    ),
    lambda inner: st.lists(inner, max_size=3).map(lambda items: "(" + ", ".join(items) + ",)"),
    max_leaves=8,
)
EXPRESSIONS = st.recursive(
    HASHABLE,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(HASHABLE, min_size=1, max_size=3).map(lambda items: "{" + ", ".join(items) + "}"),
        st.lists(st.tuples(HASHABLE, inner), max_size=3).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
        ),
        inner.map(lambda item: f"call({item})"),
        inner.map(lambda item: f"-{item}"),
    ),
    max_leaves=12,
)
ATTRIBUTES = st.sampled_from(
    ["id", "version", "name", "description", "category", "dependencies", "transactional", "other"]
)


def _python_migration(assignments: list[tuple[str, str]]) -> str:
    body = "".join(f"    {attr} = {value}\n" for attr, value in assignments) or "    pass\n"
    return f"from lamina import Migration\n\n\nclass Change(Migration):\n{body}"


def _read_py_meta_contract(text: str) -> None:
    try:
        result = read_py_meta(text, "change")
    except MetaError as exc:
        assert str(exc)
        return
    assert result is NEEDS_IMPORT or isinstance(result, PyDeclared)


@PROPERTY
@given(assignments=st.lists(st.tuples(ATTRIBUTES, EXPRESSIONS), max_size=4))
def test_static_python_metadata_only_ever_raises_meta_error(
    assignments: list[tuple[str, str]],
) -> None:
    _read_py_meta_contract(_python_migration(assignments))


@pytest.mark.parametrize(
    "value",
    ["{[]: 1}", "{1, []}", "-" * 100_000 + "1"],
    ids=["unhashable-key", "unhashable-member", "deep-nesting"],
)
def test_static_python_metadata_survives_unhashable_and_deep_literals(value: str) -> None:
    _read_py_meta_contract(_python_migration([("name", value)]))


# --------------------------------------------------------------------------------------------
# parse_url: only URLError, and the password never shows
# --------------------------------------------------------------------------------------------

URL_TOKENS = st.sampled_from(
    [*"abcxyz019:@/?#%&=.-_ ", "%00", "%ff", "%2F", "é", "日", "\x00", "\t", "::", "@@"]
)
URL_TEXT = st.builds(
    lambda scheme, sep, tokens: scheme + sep + "".join(tokens),
    st.sampled_from(["postgresql", "postgres", "MySQL", "duckdb", "sqlite", "oracle", "", "p g"]),
    st.sampled_from(["://", ":///", ":////", ":/", "", "//"]),
    st.lists(URL_TOKENS, max_size=30),
)


def _no_known_urllib_trap(text: str) -> bool:
    """Leave out what the test below covers: brackets, and characters whose NFKC form
    holds a URL delimiter (urllib raises ValueError for both)."""
    return "[" not in text and "]" not in text and not any(
        delimiter in unicodedata.normalize("NFKC", c) for c in text for delimiter in "/?#@:"
        if not c.isascii()
    )  # fmt: skip


@PROPERTY
@given(text=st.one_of(URL_TEXT, st.text(max_size=60)).filter(_no_known_urllib_trap))
@example(text="postgresql://u:p@h:99999/db")
@example(text="mysql://u:p@h:-1/db")
@example(text="postgresql://:@/")
@example(text="sqlite:///%00")
@example(text="postgresql://h:١٢/db")
def test_parse_url_only_ever_raises_url_error(text: str) -> None:
    try:
        url = parse_url(text)
    except URLError as exc:
        assert str(exc)
        return
    assert url.scheme in ("duckdb", "sqlite", "postgresql", "mysql")
    assert str(url) == url.redacted()
    assert repr(url) == f"DatabaseURL({url.redacted()!r})"


@pytest.mark.parametrize(
    "text",
    ["postgresql://[::1/db", "mysql://u:p@]h/db", "postgresql://user:pa℀ss@127.0.0.1/db"],
)
def test_parse_url_turns_urllib_errors_into_url_errors(text: str) -> None:
    with pytest.raises(URLError) as caught:
        parse_url(text)
    assert "pa℀ss" not in str(caught.value)


def test_port_zero_is_refused() -> None:
    with pytest.raises(URLError, match="between 1 and 65535"):
        parse_url("postgresql://u@h:0/db")


PRINTABLE_PASSWORDS = st.text(
    st.characters(categories=["L", "M", "N", "P", "S", "Zs"]),
    min_size=1,
    max_size=24,
)
LOWER_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,9}", fullmatch=True)


@PROPERTY
@given(
    scheme=st.sampled_from(["postgresql", "mysql"]),
    user=LOWER_NAME,
    password=PRINTABLE_PASSWORDS,
    host=LOWER_NAME,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    database=LOWER_NAME,
)
@example(
    scheme="postgresql", user="u", password="%41 ***@x:y/z?#", host="h", port=None, database="d"
)
def test_any_printable_password_is_parsed_and_never_shown(
    scheme: str, user: str, password: str, host: str, port: int | None, database: str
) -> None:
    encoded = quote(password, safe="")
    where = f"{host}:{port}" if port else host
    url = parse_url(f"{scheme}://{user}:{encoded}@{where}/{database}")

    # Exactly the URL without the password: it cannot show, plain or encoded.
    assert url.password == password
    assert url.redacted() == f"{scheme}://{user}:***@{where}/{database}"
    assert str(url) == url.redacted()
    assert repr(url) == f"DatabaseURL({url.redacted()!r})"
    with pytest.raises(URLError) as caught:  # an unusable port: the message says only that
        parse_url(f"{scheme}://{user}:{encoded}@{host}:99999/{database}")
    assert str(caught.value) == "the port is not a number between 1 and 65535"


# --------------------------------------------------------------------------------------------
# A corpus of malformed migration files, through the real CLI
# --------------------------------------------------------------------------------------------

GOOD = b"-- migrate:up\nCREATE TABLE good (id INTEGER);\n-- migrate:down\nDROP TABLE good;\n"
PY_HEAD = "from lamina import Migration\n\n\n"


def py(text: str) -> bytes:
    return text.encode("utf-8")


@dataclass(frozen=True)
class Bad:
    """A migration folder with one broken file, and what the one error must say."""

    name: str  # the broken file
    data: bytes
    fragment: str | None  # text the error must hold (None: any clear message)
    line: int | None = None  # "name:LINE:" when lamina can know the line
    runtime: bool = False  # fails while running (no GOOD beside it); named by its id
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


SYS_EXIT_IN_UP = PY_HEAD + (
    "import sys\n\n\nclass Quits(Migration):\n    def up(self):\n"
    '        self.execute_sql("CREATE TABLE quits (id INTEGER)")\n'
    "        sys.exit(3)\n"
)

CORPUS = [
    Bad("002_junk.sql", bytes(range(256)) * 4, "is not UTF-8 text", line=2),
    Bad("002_junk.py", b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00\x00", "is not UTF-8 text", line=1),
    Bad(
        "002_latin1.sql",
        "-- migrate:up\nCREATE TABLE café (id INTEGER);\n".encode("latin-1"),
        "is not UTF-8 text",
        line=2,
    ),
    Bad("002_latin1.py", "# für\nVALUE = 1\n".encode("latin-1"), "is not UTF-8 text", line=1),
    Bad("002_plain.sql", b"CREATE TABLE plain (id INTEGER);\n", "no `-- migrate:up` section"),
    Bad(
        "002_twice.sql",
        b"-- migrate:up\nCREATE TABLE a (id INTEGER);\n"
        b"-- migrate:up\nCREATE TABLE b (id INTEGER);\n",
        "a second `-- migrate:up` marker",
        line=3,
    ),
    Bad("002_empty.sql", b"", "no `-- migrate:up` section"),
    Bad("002_empty.py", b"", "defines no class deriving from lamina.Migration"),
    Bad("002_noclass.py", b"import os\n\nVALUE = 1\n", "defines no class deriving from"),
    Bad(
        "002_two.py",
        py(PY_HEAD + "class A(Migration):\n    pass\n\n\nclass B(Migration):\n    pass\n"),
        "defines 2 Migration classes (A, B)",
    ),
    Bad(
        "002_import.py",
        py(PY_HEAD + "import lamina_no_such_module\n\n\nclass A(Migration):\n    pass\n"),
        "fails to import: ModuleNotFoundError",
        line=4,
    ),
    Bad(
        "002_syntax.py",
        py(PY_HEAD + "class A(Migration)\n    pass\n"),
        "syntax error",
        line=4,
    ),
    Bad(
        "002_exit.py",
        py(PY_HEAD + "import sys\n\nsys.exit(3)\n\n\nclass A(Migration):\n    pass\n"),
        "calls sys.exit(3) while being imported",
        line=6,
    ),
    Bad("99999999999999999999999_huge.sql", GOOD, "is larger than 9223372036854775807"),
    Bad("002_quits.py", py(SYS_EXIT_IN_UP), "exit", runtime=True),
    Bad(
        "002_unhashable.py",
        py(PY_HEAD + "class A(Migration):\n    name = {[]: 1}\n"),
        None,
    ),
    Bad(
        "002_deep.py",
        py(PY_HEAD + "class A(Migration):\n    name = " + "-" * 100_000 + "1\n"),
        None,
    ),
]
#: Files that look odd but are valid: each must apply, and validate clean.
WORKING = {
    "bom-sql": ("002_bom.sql", b"\xef\xbb\xbf" + GOOD.replace(b"good", b"bom")),
    "crlf-sql": ("002_crlf.sql", GOOD.replace(b"good", b"crlf").replace(b"\n", b"\r\n")),
    "bom-crlf-py": (
        "002_both.py",
        b"\xef\xbb\xbf"
        + py(
            PY_HEAD + "class Both(Migration):\n    def up(self):\n"
            '        self.execute_sql("CREATE TABLE both_ways (id INTEGER)")\n\n'
            "    def down(self):\n"
            '        self.execute_sql("DROP TABLE both_ways")\n'
        ).replace(b"\n", b"\r\n"),
    ),
}


def run_lamina(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m lamina ARGS`` in ``tmp_path`` on ``tmp_path/app.duckdb``, as a process."""
    env = lamina_env(f"duckdb:///{tmp_path / 'app.duckdb'}", tmp_path / "migrations")
    return subprocess.run(
        [sys.executable, "-m", "lamina", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def user_tables_and_rows(path: Path) -> tuple[set[str], int]:
    """Tables that are not lamina's, and the number of history rows, read with duckdb."""
    if not path.exists():
        return set(), 0
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        names = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        rows = 0
        if "lamina_migrations" in names:
            found = con.execute("SELECT count(*) FROM lamina_migrations").fetchone()
            rows = int(found[0]) if found else 0
        return {n for n in names if not n.startswith("lamina_")}, rows
    finally:
        con.close()


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.mark.slow
@pytest.mark.parametrize(
    "bad", [pytest.param(b, id=b.name, marks=b.marks) for b in CORPUS]
)  # fmt: skip
def test_a_malformed_file_is_one_clear_error_and_nothing_is_applied(
    tmp_path: Path, bad: Bad
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    if not bad.runtime:
        (folder / "001_good.sql").write_bytes(GOOD)
    (folder / bad.name).write_bytes(bad.data)
    named = Path(bad.name).stem if bad.runtime else bad.name

    for command in ("up", "validate"):
        result = run_lamina(tmp_path, command)
        everything = result.stdout + result.stderr
        errors = error_lines(result.stderr if command == "up" else everything)
        context = f"lamina {command}: exit {result.returncode}\n{everything}"
        assert "Traceback" not in everything, context
        assert "unexpected" not in everything, context
        if command == "validate" and bad.runtime:
            assert result.returncode == 0, context  # validate runs no migration: all is fine
            continue
        assert result.returncode == 1, context
        assert len(errors) == 1, context
        assert named in errors[0], context
        if bad.line is not None:
            assert f"{bad.name}:{bad.line}:" in errors[0], context
        if bad.fragment is not None:
            assert bad.fragment in errors[0], context
        if command == "up":
            assert user_tables_and_rows(tmp_path / "app.duckdb") == (set(), 0), context


@pytest.mark.slow
@pytest.mark.parametrize("case", WORKING, ids=list(WORKING))
def test_a_bom_or_crlf_file_works(tmp_path: Path, case: str) -> None:
    name, data = WORKING[case]
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_good.sql").write_bytes(GOOD)
    (folder / name).write_bytes(data)

    applied = run_lamina(tmp_path, "up")
    checked = run_lamina(tmp_path, "validate", "--strict")

    assert applied.returncode == 0, applied.stderr
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tables, rows = user_tables_and_rows(tmp_path / "app.duckdb")
    assert rows == 2
    assert len(tables) == 2 and "good" in tables


# --------------------------------------------------------------------------------------------
# lamina create: names that would break the file it writes
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["none", "True", "false"])
def test_create_with_a_python_keyword_name_writes_a_valid_migration(
    tmp_path: Path, name: str
) -> None:
    created = run_lamina(tmp_path, "create", name)
    assert created.returncode == 0, created.stderr
    checked = run_lamina(tmp_path, "validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    "name",
    ["two\nlines", "x\n-- category: data\nDROP TABLE users;", "bell\x07", "rtl\u202eoverride"],
    ids=["newline", "header-injection", "control", "bidi"],
)
def test_create_refuses_names_with_line_breaks_and_control_characters(
    tmp_path: Path, name: str
) -> None:
    from lamina import Lamina, load_settings
    from lamina.errors import ConfigError

    settings = load_settings(
        {"database_url": f"duckdb:///{tmp_path / 'app.duckdb'}", "migrations_dir": "migrations"},
        environ={},
        cwd=tmp_path,
    )
    with pytest.raises(ConfigError, match="control character"):
        Lamina(settings).create(name, sql=True)
    assert not list((tmp_path / "migrations").glob("*"))
