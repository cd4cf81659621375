"""``create``: the new file's path, alone on stdout."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from lamina.api import CreateResult


def created(result: CreateResult) -> None:
    """Just the path on stdout, so ``$EDITOR "$(lamina create add_phone)"`` works."""
    click.echo(str(result.path))
