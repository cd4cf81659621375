"""What every command shares: the --json option, version checks, building the API object."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from lamina.api import Lamina

F = TypeVar("F", bound=Callable[..., Any])

CATEGORIES = ("schema", "data", "index", "constraint")


def migration_ref(value: str | None, param: str) -> str | None:
    """A version (``4``, ``004``) or a migration id (``004_name``), checked for its form
    before anything is read; which migration it names is resolved by the API."""
    if value is None:
        return None
    text = value.strip()
    head, _, rest = text.partition("_")
    if not head.isdigit() or (_ and not rest):
        raise click.BadParameter(
            f"{value!r} is neither a version (4, 004) nor a migration id (004_name)",
            param_hint=param,
        )
    return text


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(func)


def open_lamina(ctx: click.Context, *, progress: bool = False, **overrides: Any) -> Lamina:
    """Build the API object from the global options plus command-specific overrides."""
    from lamina.api import Lamina
    from lamina.config import load_settings

    settings = load_settings({**ctx.obj, **overrides})
    on_event = None
    if progress:
        from lamina.cli.render import progress_printer

        on_event = progress_printer()
        # The command's context closes before an error or an interrupt is reported: the
        # live report of a step that will never send its done/fail event stops first.
        ctx.call_on_close(on_event.close)
    from lamina.cli.confirm import terminal_confirm

    return Lamina(settings, on_event=on_event, confirm=terminal_confirm())
