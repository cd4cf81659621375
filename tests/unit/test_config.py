"""load_settings: precedence, the DB_PATH fallback, config files, errors naming their source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lamina.config import Origin, Settings, load_settings
from lamina.errors import ConfigError


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    return tmp_path.resolve()


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def load(
    cwd: Path, overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    return load_settings(overrides or {}, environ or {}, cwd)


def config_error(
    cwd: Path, overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(cwd, overrides, environ)
    return caught.value


# --- precedence --------------------------------------------------------------------------------

# (override field, flag value, env var, env value, file key + TOML value, expected value per level,
#  expected setting name per level)
PRECEDENCE = {
    "database": (
        "database_url",
        "duckdb:///flag.duckdb",
        "DATABASE_URL",
        "duckdb:///env.duckdb",
        'database_url = "duckdb:///file.duckdb"',
        ("flag.duckdb", "env.duckdb", "file.duckdb", "app.duckdb"),
        ("--database-url", "DATABASE_URL", "database_url", "database URL"),
    ),
    "migrations_dir": (
        "migrations_dir",
        "flag_dir",
        "LAMINA_MIGRATIONS_DIR",
        "env_dir",
        'migrations_dir = "file_dir"',
        ("flag_dir", "env_dir", "file_dir", "migrations"),
        ("--migrations-dir", "LAMINA_MIGRATIONS_DIR", "migrations_dir", "migrations folder"),
    ),
    "env": (
        "env",
        "production",
        "LAMINA_ENV",
        "staging",
        'env = "testing"',
        ("production", "staging", "testing", "development"),
        None,
    ),
    "lock_timeout": (
        "lock_timeout_s",
        "1.5",
        "LAMINA_LOCK_TIMEOUT",
        "2.5",
        "lock_timeout = 3.5",
        (1.5, 2.5, 3.5, 60.0),
        None,
    ),
}
SOURCES = ("command line", "environment", "lamina.toml", "default")


def observed(settings: Settings, name: str, cwd: Path) -> object:
    if name == "database":
        assert settings.database_url.scheme == "duckdb"
        path = Path(str(settings.database_url.path))
        assert path.parent == cwd
        return path.name
    if name == "migrations_dir":
        assert settings.migrations_dir.parent == cwd
        return settings.migrations_dir.name
    if name == "env":
        return settings.env
    return settings.lock_timeout_s


def origin_of(settings: Settings, name: str) -> Origin | None:
    return {
        "database": settings.database_origin,
        "migrations_dir": settings.migrations_dir_origin,
    }.get(name)


@pytest.mark.parametrize("name", sorted(PRECEDENCE))
@pytest.mark.parametrize("level", range(4), ids=SOURCES)
def test_precedence_flag_over_env_over_file_over_default(cwd: Path, name: str, level: int) -> None:
    field, flag_value, env_var, env_value, toml_line, expected, settings_names = PRECEDENCE[name]
    # Every level at or below ``level`` is set; the highest one set must win.
    overrides = {field: flag_value} if level <= 0 else {}
    environ = {env_var: env_value} if level <= 1 else {}
    if level <= 2:
        write(cwd, "lamina.toml", toml_line + "\n")

    settings = load(cwd, overrides, environ)

    assert observed(settings, name, cwd) == expected[level]
    origin = origin_of(settings, name)
    if origin is not None and settings_names is not None:
        assert origin == Origin(settings_names[level], SOURCES[level])


def test_none_override_means_not_given(cwd: Path) -> None:
    settings = load(cwd, {"env": None, "database_url": None}, {"LAMINA_ENV": "staging"})

    assert settings.env == "staging"
    assert settings.database_origin.source == "default"


def test_empty_environment_variable_is_ignored(cwd: Path) -> None:
    write(cwd, "lamina.toml", 'database_url = "duckdb:///file.duckdb"\n')
    settings = load(cwd, environ={"DATABASE_URL": "", "LAMINA_ENV": ""})

    assert settings.database_url.path == str(cwd / "file.duckdb")
    assert settings.env == "development"


def test_defaults(cwd: Path) -> None:
    settings = load(cwd)

    assert settings.database_url.scheme == "duckdb"
    assert settings.database_url.path == str(cwd / "app.duckdb")
    assert settings.database_origin == Origin("database URL", "default")
    assert settings.migrations_dir == cwd / "migrations"
    assert settings.env == "development"
    assert settings.lock_timeout_s == 60.0
    assert settings.strict_order is False
    assert settings.require_confirmation is True
    assert settings.max_migration_time_ms == 300_000
    assert not settings.is_production


@pytest.mark.parametrize(
    ("env", "production"), [("production", True), ("Prod", True), ("staging", False)]
)
def test_is_production(cwd: Path, env: str, production: bool) -> None:
    assert load(cwd, {"env": env}).is_production is production


def test_boolean_and_number_settings_from_each_source(cwd: Path) -> None:
    write(
        cwd,
        "lamina.toml",
        "strict_order = true\nrequire_confirmation = false\nmax_migration_time = 1000\n",
    )
    from_file = load(cwd)
    assert from_file.strict_order is True
    assert from_file.require_confirmation is False
    assert from_file.max_migration_time_ms == 1000

    from_env = load(
        cwd,
        environ={
            "LAMINA_STRICT_ORDER": "no",
            "MIGRATION_REQUIRE_CONFIRMATION": "YES",
            "MAX_MIGRATION_TIME": "250",
        },
    )
    assert from_env.strict_order is False
    assert from_env.require_confirmation is True
    assert from_env.max_migration_time_ms == 250

    from_flag = load(cwd, {"strict_order": True, "max_migration_time_ms": 7})
    assert from_flag.strict_order is True
    assert from_flag.max_migration_time_ms == 7


# --- database URL and DB_PATH ------------------------------------------------------------------


def test_db_path_becomes_a_duckdb_url_relative_to_cwd(cwd: Path) -> None:
    (cwd / "data").mkdir()
    settings = load(cwd, environ={"DB_PATH": "data/app.duckdb"})

    assert settings.database_url.scheme == "duckdb"
    assert settings.database_url.path == str(cwd / "data" / "app.duckdb")
    assert settings.database_origin == Origin("DB_PATH", "environment")


def test_db_path_absolute(cwd: Path) -> None:
    target = cwd / "abs.duckdb"
    settings = load(cwd, environ={"DB_PATH": str(target)})

    assert settings.database_url.scheme == "duckdb"
    assert settings.database_url.path == str(target)


def test_database_url_wins_over_db_path(cwd: Path) -> None:
    settings = load(
        cwd, environ={"DATABASE_URL": "sqlite:///env.sqlite3", "DB_PATH": "other.duckdb"}
    )

    assert settings.database_url.scheme == "sqlite"
    assert settings.database_url.path == str(cwd / "env.sqlite3")
    assert settings.database_origin.setting == "DATABASE_URL"


def test_db_path_in_environment_wins_over_config_file_url(cwd: Path) -> None:
    write(cwd, "lamina.toml", 'database_url = "sqlite:///file.sqlite3"\n')
    settings = load(cwd, environ={"DB_PATH": "env.duckdb"})

    assert settings.database_url.scheme == "duckdb"
    assert settings.database_url.path == str(cwd / "env.duckdb")


def test_db_path_in_config_file(cwd: Path) -> None:
    write(cwd, "lamina.toml", 'db_path = "file.duckdb"\n')
    settings = load(cwd)

    assert settings.database_url.path == str(cwd / "file.duckdb")
    assert settings.database_origin == Origin("db_path", "lamina.toml")


def test_relative_database_path_resolves_against_cwd_not_process_dir(cwd: Path) -> None:
    (cwd / "nested").mkdir()
    settings = load(cwd, {"database_url": "sqlite:///./nested/../nested/x.sqlite3"})

    assert settings.database_url.path == str(cwd / "nested" / "x.sqlite3")


def test_absolute_database_path_is_kept(cwd: Path) -> None:
    settings = load(cwd, {"database_url": f"duckdb:///{cwd}/abs.duckdb"})

    assert settings.database_url.path == str(cwd / "abs.duckdb")


def test_memory_database_is_not_checked_as_a_file(cwd: Path) -> None:
    settings = load(cwd, {"database_url": "duckdb:///:memory:"})

    assert settings.database_url.is_memory


def test_server_url_is_accepted_without_touching_the_filesystem(cwd: Path) -> None:
    settings = load(cwd, environ={"DATABASE_URL": "postgresql://app:pw@db.internal:5433/app"})

    assert settings.database_url.scheme == "postgresql"
    assert settings.database_url.host == "db.internal"
    assert settings.database_url.port == 5433


@pytest.mark.parametrize(
    ("where", "setting", "source"),
    [
        ("flag", "--database-url", "command line"),
        ("env", "DATABASE_URL", "environment"),
        ("toml", "database_url", "lamina.toml"),
        ("pyproject", "database_url", "pyproject.toml"),
    ],
)
def test_unknown_scheme_names_the_setting_and_its_source(
    cwd: Path, where: str, setting: str, source: str
) -> None:
    bad = "oracle://scott:tiger@host/db"
    overrides, environ = {}, {}
    if where == "flag":
        overrides = {"database_url": bad}
    elif where == "env":
        environ = {"DATABASE_URL": bad}
    elif where == "toml":
        write(cwd, "lamina.toml", f'database_url = "{bad}"\n')
    else:
        write(
            cwd,
            "pyproject.toml",
            f'[project]\nname = "x"\n\n[tool.lamina]\ndatabase_url = "{bad}"\n',
        )

    error = config_error(cwd, overrides, environ)

    text = str(error)
    assert setting in text
    assert source in text
    assert "oracle" in text
    assert error.setting == setting
    assert source in error.source
    assert "tiger" not in text


def test_config_error_never_shows_the_password(cwd: Path) -> None:
    error = config_error(
        cwd, environ={"DATABASE_URL": "postgresql://app:Sup3rSecret@db:notaport/app"}
    )

    assert "DATABASE_URL" in str(error)
    assert "Sup3rSecret" not in str(error)
    assert "Sup3rSecret" not in repr(error)


def test_database_file_in_a_missing_folder_is_an_error(cwd: Path) -> None:
    error = config_error(cwd, environ={"DATABASE_URL": "duckdb:///no/such/dir/app.duckdb"})

    assert error.setting == "DATABASE_URL"
    assert error.source == "environment"
    assert "does not exist" in str(error)


def test_db_path_in_a_missing_folder_is_an_error(cwd: Path) -> None:
    error = config_error(cwd, environ={"DB_PATH": "missing/app.duckdb"})

    assert error.setting == "DB_PATH"


def test_database_path_that_is_a_folder_is_an_error(cwd: Path) -> None:
    (cwd / "adir").mkdir()
    error = config_error(cwd, {"database_url": "sqlite:///adir"})

    assert error.setting == "--database-url"
    assert error.source == "command line"
    assert "folder" in str(error)


def test_url_without_scheme_is_an_error(cwd: Path) -> None:
    error = config_error(cwd, environ={"DATABASE_URL": "app.duckdb"})

    assert error.setting == "DATABASE_URL"


# --- config files ------------------------------------------------------------------------------


def test_pyproject_tool_lamina_table_is_read(cwd: Path) -> None:
    write(
        cwd,
        "pyproject.toml",
        '[project]\nname = "app"\n\n[tool.lamina]\nmigrations_dir = "db/migrations"\n'
        'env = "staging"\nlock_timeout = 5\n',
    )
    settings = load(cwd)

    assert settings.migrations_dir == cwd / "db" / "migrations"
    assert settings.env == "staging"
    assert settings.lock_timeout_s == 5.0
    assert settings.migrations_dir_origin == Origin(
        "migrations_dir", "pyproject.toml [tool.lamina]"
    )


def test_pyproject_without_a_lamina_table_is_ignored(cwd: Path) -> None:
    write(cwd, "pyproject.toml", '[project]\nname = "app"\n\n[tool.ruff]\nline-length = 100\n')

    assert load(cwd).env == "development"


def test_lamina_toml_wins_over_pyproject(cwd: Path) -> None:
    write(cwd, "pyproject.toml", '[tool.lamina]\nenv = "from-pyproject"\n')
    write(cwd, "lamina.toml", 'env = "from-lamina-toml"\n')

    assert load(cwd).env == "from-lamina-toml"


def test_lamina_toml_may_use_a_lamina_table(cwd: Path) -> None:
    write(cwd, "lamina.toml", '[lamina]\nenv = "tabled"\n')

    assert load(cwd).env == "tabled"


@pytest.mark.parametrize("filename", ["lamina.toml", "pyproject.toml"])
def test_malformed_toml_is_a_config_error_naming_the_file(cwd: Path, filename: str) -> None:
    write(cwd, filename, "[tool.lamina\nenv = \n")

    error = config_error(cwd)

    assert filename in str(error)


def test_unknown_key_in_lamina_toml_is_rejected(cwd: Path) -> None:
    write(cwd, "lamina.toml", 'env = "x"\ndatabse_url = "duckdb:///typo.duckdb"\n')

    error = config_error(cwd)

    assert "databse_url" in str(error)
    assert "lamina.toml" in str(error)


def test_unknown_key_in_pyproject_tool_lamina_is_rejected(cwd: Path) -> None:
    write(cwd, "pyproject.toml", "[tool.lamina]\nlock_timeout_seconds = 3\n")

    error = config_error(cwd)

    assert "lock_timeout_seconds" in str(error)
    assert "pyproject.toml" in str(error)


@pytest.mark.parametrize("text", ["[tool]\nlamina = 5\n", "[tool]\nlamina = [1]\n"])
def test_tool_lamina_that_is_not_a_table_is_a_config_error(cwd: Path, text: str) -> None:
    write(cwd, "pyproject.toml", text)

    error = config_error(cwd)

    assert "pyproject.toml" in str(error)


def test_pyproject_whose_tool_key_is_not_a_table_is_ignored(cwd: Path) -> None:
    write(cwd, "pyproject.toml", 'tool = "x"\n')

    assert load(cwd).env == "development"


def test_migrations_dir_relative_to_cwd_and_absolute_kept(cwd: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere").resolve()

    relative = load(cwd, environ={"LAMINA_MIGRATIONS_DIR": "db/migrations"})
    absolute = load(cwd, {"migrations_dir": str(elsewhere)})

    assert relative.migrations_dir == cwd / "db" / "migrations"
    assert absolute.migrations_dir == elsewhere


# --- invalid values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LAMINA_STRICT_ORDER", "maybe"),
        ("MIGRATION_REQUIRE_CONFIRMATION", "2"),
        ("LAMINA_LOCK_TIMEOUT", "soon"),
        ("LAMINA_LOCK_TIMEOUT", "-1"),
        ("LAMINA_LOCK_TIMEOUT", "nan"),
        ("MAX_MIGRATION_TIME", "1.5"),
        ("MAX_MIGRATION_TIME", "0"),
        ("MAX_MIGRATION_TIME", "ten"),
    ],
)
def test_invalid_environment_value_names_the_variable(cwd: Path, variable: str, value: str) -> None:
    error = config_error(cwd, environ={variable: value})

    assert error.setting == variable
    assert error.source == "environment"
    assert variable in str(error)
    assert "environment" in str(error)
    assert value in str(error)


def test_invalid_flag_value_names_the_flag(cwd: Path) -> None:
    error = config_error(cwd, {"lock_timeout_s": "later"})

    assert "--lock-timeout" in str(error)
    assert "command line" in str(error)


def test_invalid_file_value_names_the_key_and_file(cwd: Path) -> None:
    write(cwd, "lamina.toml", 'strict_order = "sometimes"\n')

    error = config_error(cwd)

    assert "strict_order" in str(error)
    assert "lamina.toml" in str(error)


def test_invalid_lower_level_value_is_not_consulted_when_a_higher_one_is_set(cwd: Path) -> None:
    write(cwd, "lamina.toml", 'lock_timeout = "not a number"\n')

    settings = load(cwd, environ={"LAMINA_LOCK_TIMEOUT": "9"})

    assert settings.lock_timeout_s == 9.0
