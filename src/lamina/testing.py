"""lamina's pytest plugin: migrated databases as fixtures, and ready-made migration tests.

Installed with lamina (entry point ``pytest11``), so it needs no setup. In ``pytest.ini`` or
``[tool.pytest.ini_options]``::

    lamina_migrations_dir = "migrations"
    lamina_engines = ["duckdb", "postgresql://postgres@127.0.0.1/app_test"]   # default: duckdb

Fixtures (one run per configured engine, each on a throw-away database, never the URL's own
database or schema):

``lamina_settings``
    :class:`~lamina.config.Settings` for an empty scratch database.
``migrated_database``
    The same, after every migration was applied: connect to ``.database_url``.

Ready-made tests, switched on by importing them into a test module::

    from lamina.testing import test_migrations_round_trip, test_migrations_match_expected_schema

``test_migrations_round_trip`` runs ``lamina verify`` and fails with its report;
``test_migrations_match_expected_schema`` applies every migration and compares the schema with
``<lamina_expected_schema>.<engine>.json`` (default ``tests/lamina-schema``), which
``pytest --lamina-update-schema`` (re)writes: a migration that changes the schema then shows
up in code review, and an unexpected change fails the build.

``lamina_check_schema``
    ``lamina check-schema`` as a fixture: ``lamina_check_schema("schema.sql")`` (or
    ``"app.models:Base"``, a database URL) fails the test, listing the differences, unless the
    migrations build that schema on each configured engine: the test that tells a developer
    they forgot ``lamina generate``. A relative path or module is taken from the rootdir.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lamina.config import Settings, load_settings
from lamina.engines import ENGINES, EngineSpec
from lamina.urls import parse_url

__all__ = [
    "lamina_check_schema",
    "lamina_settings",
    "migrated_database",
    "test_migrations_match_expected_schema",
    "test_migrations_round_trip",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("lamina_migrations_dir", "folder of migration files", default="migrations")
    parser.addini(
        "lamina_engines",
        "engines to test: duckdb, sqlite, or server URLs (each gets a scratch database)",
        type="linelist",
        default=["duckdb"],
    )
    parser.addini(
        "lamina_expected_schema",
        "path prefix of the expected schema files (<prefix>.<engine>.json)",
        default="tests/lamina-schema",
    )
    parser.addoption(
        "--lamina-update-schema",
        action="store_true",
        help="lamina: (re)write the expected schema files instead of comparing with them",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "lamina_engine" in metafunc.fixturenames:
        engines = [str(e) for e in metafunc.config.getini("lamina_engines")]
        metafunc.parametrize("lamina_engine", engines, ids=[_engine_id(e) for e in engines])


@pytest.fixture
def lamina_settings(
    lamina_engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Settings]:
    """Settings for an empty scratch database of ``lamina_engine``; dropped afterwards."""
    from lamina.scratch import scratch_database

    root = request.config.rootpath
    folder = Path(str(request.config.getini("lamina_migrations_dir")))
    overrides = {
        "migrations_dir": str(folder if folder.is_absolute() else root / folder),
        "backup_dir": str(tmp_path / "backups"),
        "database_url": _url(lamina_engine, tmp_path),
    }
    settings = load_settings(overrides, environ={}, cwd=root)
    if _file_engine(lamina_engine) is not None:
        yield settings
        return
    with scratch_database(settings.database_url) as url:
        yield dataclasses.replace(settings, database_url=url)


@pytest.fixture
def migrated_database(lamina_settings: Settings) -> Settings:
    """``lamina_settings`` after ``lamina up``: a freshly migrated database."""
    from lamina.api import Lamina

    Lamina(lamina_settings).up()
    return lamina_settings


@pytest.fixture
def lamina_check_schema(
    lamina_settings: Settings, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], None]:
    """``check(source)``: fail unless the migrations build the schema ``source`` describes."""
    from lamina.generate import check_schema

    root = request.config.rootpath
    monkeypatch.chdir(root)  # a models module is imported from the rootdir, as the CLI does

    def check(source: str) -> None:
        result = check_schema(lamina_settings, source, cwd=root)
        failing = [d for d in result.differences if not d.note]
        if failing:
            listing = "\n".join(f"  {d}" for d in failing)
            pytest.fail(
                f"the migrations do not build the schema of {result.source} (added: only the "
                f"migrations build it; missing: only the source has it):\n{listing}\n"
                f"run `lamina generate NAME --from {result.source}` and review the migration",
                pytrace=False,
            )

    return check


def test_migrations_round_trip(lamina_settings: Settings) -> None:
    """Every down undoes its up (``lamina verify``), on each configured engine."""
    from lamina.verify import verify

    result = verify(lamina_settings)
    if not result.ok:
        lines = [f"{s.migration_id}: {s.outcome}: {'; '.join(s.problems)}" for s in result.failed]
        pytest.fail("migrations do not round-trip:\n" + "\n".join(lines), pytrace=False)


def test_migrations_match_expected_schema(
    migrated_database: Settings, lamina_engine: str, request: pytest.FixtureRequest
) -> None:
    """The schema the migrations build is the one committed in the expected-schema file."""
    from lamina.engines import open_backend
    from lamina.schema import Snapshot, diff, snapshot

    prefix = Path(str(request.config.getini("lamina_expected_schema")))
    name = migrated_database.database_url.scheme
    expected_file = (
        prefix if prefix.is_absolute() else request.config.rootpath / prefix
    ).with_name(f"{prefix.name}.{name}.json")
    with open_backend(migrated_database.database_url, read_only=True) as backend:
        backend.connect(10)
        actual = snapshot(backend)
    if request.config.getoption("--lamina-update-schema"):
        expected_file.parent.mkdir(parents=True, exist_ok=True)
        expected_file.write_text(actual.to_json(indent=2) + "\n", encoding="utf-8")
        return
    if not expected_file.is_file():
        pytest.fail(
            f"no expected schema at {expected_file}: run pytest --lamina-update-schema once "
            "and commit the file",
            pytrace=False,
        )
    try:
        expected = Snapshot.from_dict(json.loads(expected_file.read_text(encoding="utf-8")))
    except ValueError as exc:  # another snapshot format: an older lamina wrote it
        pytest.fail(
            f"{expected_file.name} cannot be read ({exc}): run pytest --lamina-update-schema "
            "once and commit the file",
            pytrace=False,
        )
    differences = diff(expected, actual)
    if differences:
        listing = "\n".join(f"  {d}" for d in differences)
        pytest.fail(
            f"the migrations build a schema that differs from {expected_file.name}:\n{listing}\n"
            "if the change is intended, run pytest --lamina-update-schema and commit the file",
            pytrace=False,
        )


def _file_engine(engine: str) -> EngineSpec | None:
    """The file engine named ``engine`` (``duckdb``, ``sqlite``), or None for a server URL."""
    spec = ENGINES.get(engine)
    return spec if spec is not None and spec.scratch == "file" else None


def _url(engine: str, folder: Path) -> str:
    spec = _file_engine(engine)
    if spec is not None:
        name = "lamina-test" + (spec.file_suffix or "")
        return f"{spec.name}:///{folder / name}"
    return engine


def _engine_id(engine: str) -> str:
    """A test id that names the engine, never a password."""
    if _file_engine(engine) is not None:
        return engine
    return parse_url(engine).scheme
