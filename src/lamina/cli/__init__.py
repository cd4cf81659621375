"""The ``lamina`` command: global options, and the one place errors become exit codes (and,
under a command's ``--json``, the error documents the library builds: docs/json.md, "Errors").

Only click is imported at module level so ``lamina --help`` stays fast: the commands' modules
are imported one at a time, when a command is run or asked for its help (lamina.cli.commands);
each command imports the API, the renderer and the drivers it needs when it runs, and
``--version`` its report.
"""

from __future__ import annotations

import gc
import os
import sys
from gettext import gettext as _
from typing import Any

import click

from lamina.cli.commands import LazyCommands

__all__ = ["cli", "main"]

# Exit codes: 0 success, 1 failure or problems found, 2 usage error, 3 refused by a safety check;
# 128 + the signal's number when stopped by one (130 Ctrl-C, 143 SIGTERM: lamina.signals).
#: Commands that handle SIGTERM and Ctrl-C themselves (uvicorn shuts ``serve`` down gracefully
#: and re-raises the signal), so lamina's handlers must stay out of their way.
OWN_SIGNAL_HANDLING = frozenset({"serve"})


class LaminaGroup(click.Group):
    """A click group that turns lamina's errors into one or two lines and an exit code; under
    a command's ``--json``, also into one JSON error document on stdout (docs/json.md)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The group's own options are parsed here, before invoke(): a usage error in them
        # (``--lock-timeout soon``) gets its document here. click consumes ``args``.
        given = list(args)
        settings = {**self.context_settings, **extra}
        if (
            parent is None
            and "terminal_width" not in settings
            and click.formatting.FORCED_WIDTH is None
        ):
            # What click would find when it formats help, found without importing shutil.
            extra["terminal_width"] = _help_width(settings.get("max_content_width"))
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.ClickException as exc:
            if "--json" in given:
                _print_document(_click_document(exc))
            raise

    def invoke(self, ctx: click.Context) -> Any:
        # The command line after the group's options; click consumes it while invoking.
        given = (*getattr(ctx, "_protected_args", ()), *ctx.args)
        as_json = "--json" in given
        try:
            return super().invoke(ctx)
        except click.exceptions.ClickException as exc:  # click prints it and exits 2
            if as_json:
                _print_document(_click_document(exc))
            raise
        except click.exceptions.Exit:
            raise
        except click.exceptions.Abort:  # a prompt's Ctrl-C or end of input: click exits 1
            if as_json:
                _print_document(_error_document("aborted", None, 1, "Aborted"))
            raise
        except KeyboardInterrupt as exc:
            # SIGTERM arrives here too (lamina.signals): one line saying where the run stopped.
            if ctx.params.get("verbose"):
                _print_traceback()
            _stopped(ctx, exc, as_json=as_json)
        except Exception as exc:
            _failed(ctx, exc, as_json=as_json)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's list of commands, each line made from the command's help summary when its
        module is not imported yet, so ``lamina --help`` imports none of them."""
        commands = self.commands
        if not isinstance(commands, LazyCommands):
            super().format_commands(ctx, formatter)
            return
        listed = [(name, commands.described(name)) for name in self.list_commands(ctx)]
        listed = [(name, command) for name, command in listed if not command.hidden]
        if listed:
            limit = formatter.width - 6 - max(len(name) for name, _command in listed)
            with formatter.section(_("Commands")):
                formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in listed])


def _help_width(most: int | None) -> int:
    """The width click's help formatter would choose, found without ``shutil`` (which imports
    the compression modules: a few ms of ``lamina --help``): the columns as
    ``shutil.get_terminal_size`` reads them (COLUMNS, else stdout's terminal, else 80), at most
    ``most`` (click's default 80), less 2, at least 50."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    stdout = sys.__stdout__
    if columns <= 0 and stdout is not None:
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(min(columns if columns > 0 else 80, most or 80) - 2, 50)


def _print_traceback() -> None:
    """The traceback --verbose asks for; ``traceback`` is imported only then."""
    import traceback

    traceback.print_exc()


def _failed(ctx: click.Context, exc: Exception, *, as_json: bool) -> None:
    """An error's line (and document), then its exit code: the error's own for lamina's,
    1 for anything unexpected, the signal's when a driver turned a stop signal into an error."""
    from lamina import signals
    from lamina.errors import LaminaError

    interrupt = signals.received()
    if interrupt is not None:
        _stopped(ctx, interrupt, as_json=as_json)
    verbose = bool(ctx.params.get("verbose"))
    if verbose:
        _print_traceback()
    if isinstance(exc, LaminaError):
        _print_error(_message(exc, full=verbose or as_json), exc.hint)
        if as_json:
            _print_document(exc.to_document())
        ctx.exit(exc.exit_code)
    message = f"unexpected {type(exc).__name__}: {exc}"
    hint = None if verbose else "run again with --verbose for the traceback, and please report it"
    _print_error(message, hint)
    if as_json:
        kind = type(exc).__name__
        _print_document(_error_document(message, hint, 1, "UnexpectedError", exception=kind))
    ctx.exit(1)


def _stopped(ctx: click.Context, exc: BaseException, *, as_json: bool) -> None:
    """A stop signal's line (and document), then its exit code: 130 Ctrl-C, 143 SIGTERM."""
    from lamina import signals

    _print_error(*signals.describe(exc))
    if as_json:
        from lamina.documents import interrupted_document

        _print_document(interrupted_document(exc))
    ctx.exit(signals.exit_code(exc))


def _click_document(exc: click.exceptions.ClickException) -> dict[str, object]:
    """A usage error click found (an unknown option, a value it cannot parse) as a document."""
    message, code = exc.format_message(), exc.exit_code
    if not isinstance(exc, click.exceptions.UsageError):
        return _error_document(message, None, code, "ClickException")
    hint = f"`{exc.ctx.command_path} --help` shows the usage" if exc.ctx else None
    return _error_document(message, hint, code, "UsageError")


def _error_document(
    message: str, hint: str | None, exit_code: int, kind: str, **fields: object
) -> dict[str, object]:
    from lamina.documents import error_document

    return error_document(message, hint=hint, exit_code=exit_code, kind=kind, **fields)


def _print_document(document: dict[str, object]) -> None:
    """The one JSON document of a failed ``--json`` command, on stdout like every document."""
    import json

    click.echo(json.dumps(document, indent=2))


def _message(exc: Exception, *, full: bool) -> str:
    """The error's message; a refusal naming many risky steps is cut to the first few
    unless ``full`` (--verbose, or the command's --json) asks for every one."""
    from lamina.errors import LaminaError, RiskRefusedError

    assert isinstance(exc, LaminaError)
    if not isinstance(exc, RiskRefusedError):
        return exc.message
    from lamina.cli.render import refusal_message

    return refusal_message(exc.message, len(exc.steps), full=full)


def _print_error(message: str, hint: str | None) -> None:
    color = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
    label = click.style("error:", fg="red", bold=True) if color else "error:"
    click.echo(f"{label} {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the versions are read (and the drivers imported) only when asked."""
    if not value or ctx.resilient_parsing:
        return
    from lamina.cli.versions import report

    click.echo(report())
    ctx.exit()


@click.group(
    cls=LaminaGroup,
    commands=LazyCommands(),
    invoke_without_command=True,
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
    },
)
@click.option(
    "--database-url",
    metavar="URL",
    help="Target database: duckdb:///./app.duckdb, sqlite:///app.db, "
    "postgresql://user@host/db?schema=app, mysql://user@host/db. "
    "[env: DATABASE_URL, or DB_PATH for a DuckDB file]",
)
@click.option(
    "--migrations-dir",
    metavar="DIR",
    help="Folder of migration files. [env: LAMINA_MIGRATIONS_DIR; default: ./migrations]",
)
@click.option(
    "--env",
    "env_name",
    metavar="NAME",
    help="Environment name. [env: LAMINA_ENV; default: development]",
)
@click.option(
    "--lock-timeout",
    type=float,
    metavar="SECONDS",
    help="How long to wait for another run's lock. [env: LAMINA_LOCK_TIMEOUT; default: 60]",
)
@click.option(
    "--lock-mode",
    type=click.Choice(["session", "table"]),
    help="How PostgreSQL/MySQL hold the migration lock; `table` works through PgBouncer in "
    "transaction mode. [env: LAMINA_LOCK_MODE; default: session]",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show lamina's version and those of Python, its libraries and the database drivers.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    database_url: str | None,
    migrations_dir: str | None,
    env_name: str | None,
    lock_timeout: float | None,
    lock_mode: str | None,
    verbose: bool,
) -> None:
    """lamina: safe, verified, fast database schema migrations.

    Settings come from flags, then the environment, then lamina.toml or
    [tool.lamina] in pyproject.toml, then defaults.
    """
    ctx.obj = {
        "database_url": database_url,
        "migrations_dir": migrations_dir,
        "env": env_name,
        "lock_timeout_s": lock_timeout,
        "lock_mode": lock_mode,
    }
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
    elif ctx.invoked_subcommand not in OWN_SIGNAL_HANDLING:
        # The command only: an application using lamina as a library keeps its own handlers.
        # Restored when the context closes, after the interrupt's message is printed.
        from lamina.signals import stop_signals_handled

        ctx.with_resource(stop_signals_handled())


#: The cyclic collector's thresholds for a command (Python's default starts a collection
#: every 700 net allocations): a command builds tens of thousands of objects that live until
#: it ends (a file, a history row, a catalog row each), and the default collects over and over
#: for nothing; collections still run, less often. (mypy does the same.)
GC_THRESHOLDS = (50_000, 20, 20)


def main() -> None:
    """Console-script entry point."""
    gc.set_threshold(*GC_THRESHOLDS)
    cli.main(prog_name="lamina")
