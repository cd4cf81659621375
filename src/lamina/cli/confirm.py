"""Asking a person before a risky step, only when there is a person to ask."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from lamina.safety import ConfirmCallback

__all__ = ["terminal_confirm"]


def terminal_confirm() -> ConfirmCallback | None:
    """A prompt on the terminal, or None when stdin is not one (CI, pipes, cron).

    With None, the API refuses risky steps that need confirmation unless ``--yes`` was
    given: lamina never waits for input that cannot come.
    """
    if not sys.stdin.isatty():
        return None

    def ask(question: str) -> bool:
        return click.confirm(question, default=False, err=True)

    return ask
