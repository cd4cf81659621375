"""The ``lamina`` command: global options, and the one place errors become exit codes.

Only click is imported at module level so ``lamina --help`` stays fast; each command imports
the API, the renderer and the drivers it needs when it runs.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from lamina._version import __version__

__all__ = ["cli", "main"]

# Exit codes: 0 success, 1 failure or problems found, 2 usage error, 3 refused by a safety check;
# 128 + the signal's number when stopped by one (130 Ctrl-C, 143 SIGTERM: lamina.signals).
#: Commands that handle SIGTERM and Ctrl-C themselves (uvicorn shuts ``serve`` down gracefully
#: and re-raises the signal), so lamina's handlers must stay out of their way.
OWN_SIGNAL_HANDLING = frozenset({"serve"})


class LaminaGroup(click.Group):
    """A click group that turns lamina's errors into one or two lines and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        # The command line after the group's options; click consumes it while invoking.
        given = (*getattr(ctx, "_protected_args", ()), *ctx.args)
        try:
            return super().invoke(ctx)
        except click.exceptions.ClickException:
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt as exc:
            # SIGTERM arrives here too (lamina.signals): one line saying where the run stopped.
            from lamina import signals

            if ctx.params.get("verbose"):
                traceback.print_exc()
            _print_error(*signals.describe(exc))
            ctx.exit(signals.exit_code(exc))
        except Exception as exc:
            from lamina import signals
            from lamina.errors import LaminaError

            interrupt = signals.received()
            if interrupt is not None:  # a driver turned the signal into an error of its own
                _print_error(*signals.describe(interrupt))
                ctx.exit(signals.exit_code(interrupt))
            verbose = bool(ctx.params.get("verbose"))
            if verbose:
                traceback.print_exc()
            if isinstance(exc, LaminaError):
                _print_error(_message(exc, full=verbose or "--json" in given), exc.hint)
                ctx.exit(exc.exit_code)
            _print_error(
                f"unexpected {type(exc).__name__}: {exc}",
                None
                if verbose
                else "run again with --verbose for the traceback, and please report it",
            )
            ctx.exit(1)


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


@click.group(
    cls=LaminaGroup,
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
@click.version_option(__version__, "--version", prog_name="lamina")
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


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="lamina")


from lamina.cli import commands as _commands  # noqa: E402  (registers the commands)

for _command in _commands.COMMANDS:
    cli.add_command(_command)
