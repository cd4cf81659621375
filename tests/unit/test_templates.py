"""``lamina create`` helpers: slugify, next_version and the rendered templates."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta

import pytest

from lamina.migration import Migration
from lamina.models import Category
from lamina.sqltext import parse_sql_migration
from lamina.staticmeta import MetaError, PyDeclared, read_py_meta, read_sql_meta
from lamina.templates import next_version, render_template, slugify

NOW = datetime(2026, 11, 25, 9, 30, 0, tzinfo=UTC)
STAMP = 20261125093000

# --- slugify -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Add user preferences", "add_user_preferences"),
        ("add_user_preferences", "add_user_preferences"),
        ("  Add   Users!! ", "add_users"),
        ("CamelCase-Name v2", "camelcase_name_v2"),
        ("__leading and trailing__", "leading_and_trailing"),
        ("orders: add index (email)", "orders_add_index_email"),
        ("café menu", "caf_menu"),
        ("2fa", "2fa"),
        ("a..b", "a_b"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "a/b", "/abs", "a\\b", "..\\x", ".hidden", "..", "x\x00y", "\x00"],
)
def test_slugify_refuses_paths_and_nul(name: str) -> None:
    with pytest.raises(ValueError, match="not a path"):
        slugify(name)


@pytest.mark.parametrize("name", ["", "   ", "!!!", "---", "éé"])
def test_slugify_refuses_names_without_letters_or_digits(name: str) -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        slugify(name)


def test_slugify_output_is_a_safe_bounded_file_name() -> None:
    for name in ("x" * 500, "Word " * 100, "Ünïcödé and ascii 123", "tab\tand\nnewline"):
        slug = slugify(name)
        assert re.fullmatch(r"[a-z0-9_]+", slug)
        assert 0 < len(slug) <= 80
        assert not slug.startswith("_")


# --- next_version ------------------------------------------------------------------------------


def test_empty_folder_gets_a_utc_timestamp() -> None:
    assert next_version({}, NOW) == str(STAMP)


def test_default_now_is_the_current_utc_time() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    version = next_version({})
    after = datetime.now(UTC)

    assert re.fullmatch(r"\d{14}", version)
    produced = datetime.strptime(version, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= produced <= after


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ({1: "001", 2: "002"}, "003"),
        ({7: "007"}, "008"),
        ({1: "1", 2: "2"}, "3"),
        ({9: "9"}, "10"),
        ({99: "099"}, "100"),
        ({999: "999"}, "1000"),
        ({41: "0041", 3: "3"}, "0042"),
        ({1: "1", 5: "0005"}, "0006"),
        ({2: "002", 1: "001"}, "003"),
        ({999_999: "999999"}, "1000000"),
    ],
)
def test_sequential_folders_get_the_next_number_padded_like_the_newest(
    existing: dict[int, str], expected: str
) -> None:
    assert next_version(existing, NOW) == expected


def test_timestamp_folder_gets_the_current_timestamp() -> None:
    existing = {20250101000000: "20250101000000", 20250102000000: "20250102000000"}

    assert next_version(existing, NOW) == str(STAMP)


def test_a_folder_mixing_numbers_and_timestamps_continues_with_timestamps() -> None:
    existing = {1: "001", 2: "002", 20250101000000: "20250101000000"}

    assert next_version(existing, NOW) == str(STAMP)


def test_versions_of_a_million_and_more_count_as_timestamps() -> None:
    assert next_version({1_000_000: "1000000"}, NOW) == str(STAMP)


def test_timestamp_collision_is_bumped_past_the_newest() -> None:
    assert next_version({STAMP: str(STAMP)}, NOW) == str(STAMP + 1)


def test_timestamp_behind_the_newest_version_is_bumped_past_it() -> None:
    # The clock is behind a version made elsewhere (or a typo'd future timestamp).
    future = 20301231235959
    version = next_version({future: str(future)}, NOW)

    assert int(version) == future + 1


def test_two_quick_creates_never_collide() -> None:
    existing: dict[int, str] = {20250101000000: "20250101000000"}
    made = []
    for _ in range(3):
        version = next_version(existing, NOW)
        assert int(version) not in existing
        existing[int(version)] = version
        made.append(int(version))

    assert made == [STAMP, STAMP + 1, STAMP + 2]


# --- render_template ---------------------------------------------------------------------------


def migration_classes(source: str) -> list[ast.ClassDef]:
    tree = ast.parse(source)
    return [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id == "Migration" for base in node.bases)
    ]


def run_template(source: str) -> type[Migration]:
    namespace: dict[str, object] = {}
    exec(compile(source, "<template>", "exec"), namespace)
    classes = [
        value
        for value in namespace.values()
        if isinstance(value, type) and issubclass(value, Migration) and value is not Migration
    ]
    assert len(classes) == 1
    return classes[0]


def test_python_template_is_valid_python_with_one_migration_subclass() -> None:
    source = render_template("py", "Add user preferences", Category.SCHEMA, ())

    classes = migration_classes(source)
    assert len(classes) == 1
    assert classes[0].name == "AddUserPreferences"
    methods = {node.name for node in classes[0].body if isinstance(node, ast.FunctionDef)}
    assert {"up", "down"} <= methods

    cls = run_template(source)
    assert cls.name == "Add user preferences"
    assert cls.category == "schema"
    assert tuple(cls.dependencies) == ()
    assert cls.is_reversible()


def test_python_template_carries_category_and_dependencies() -> None:
    source = render_template("py", "Backfill emails", Category.DATA, ("001_users", "2"))

    cls = run_template(source)
    assert cls.category == "data"
    assert list(cls.dependencies) == ["001_users", "2"]


def test_python_template_metadata_is_readable_without_importing() -> None:
    source = render_template("py", "Backfill emails", Category.DATA, ("001_users",))

    declared = read_py_meta(source, "backfill_emails")

    assert isinstance(declared, PyDeclared)
    assert declared.meta.name == "Backfill emails"
    assert declared.meta.category is Category.DATA
    assert declared.meta.dependencies == ("001_users",)
    assert declared.meta.reversible


@pytest.mark.parametrize(
    "name",
    ['Bob\'s "quoted" name', "tab\there", 'triple """ quotes', "2fa setup", "x" * 200],
)
def test_python_template_is_valid_for_awkward_names(name: str) -> None:
    source = render_template("py", name, Category.SCHEMA, ())

    classes = migration_classes(source)
    assert len(classes) == 1
    assert classes[0].name.isidentifier()
    assert run_template(source).name == name


def test_python_template_class_name_starting_with_a_digit_is_prefixed() -> None:
    source = render_template("py", "2fa setup", Category.SCHEMA, ())

    assert migration_classes(source)[0].name == "M2faSetup"


@pytest.mark.parametrize("category", list(Category))
def test_sql_template_has_up_and_down_markers_and_headers(category: Category) -> None:
    source = render_template("sql", "Add user preferences", category, ())
    lines = source.splitlines()

    assert lines.count("-- migrate:up") == 1
    assert lines.count("-- migrate:down") == 1
    assert lines.index("-- migrate:up") < lines.index("-- migrate:down")
    assert "-- name: Add user preferences" in lines
    assert f"-- category: {category.value}" in lines
    assert not any(line.startswith("-- depends:") for line in lines)


def test_sql_template_lists_dependencies() -> None:
    source = render_template("sql", "Add index", Category.INDEX, ("001_users", "2"))

    assert "-- depends: 001_users, 2" in source.splitlines()


def test_sql_template_parses_with_the_sql_format_reader() -> None:
    source = render_template("sql", "Add index", Category.INDEX, ("001_users", "2"))

    parsed = parse_sql_migration(source)
    assert parsed.down is not None
    # Unedited, its up runs nothing and is refused; once written, it reads as declared.
    with pytest.raises(MetaError, match="up section runs no statement"):
        read_sql_meta(source, "add_index")
    edited = source.replace("-- migrate:up\n", "-- migrate:up\nCREATE INDEX i ON t (a);\n")
    meta = read_sql_meta(edited, "add_index")
    assert meta.name == "Add index"
    assert meta.category is Category.INDEX
    assert meta.dependencies == ("001_users", "2")
