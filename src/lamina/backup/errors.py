"""The one error the backup package raises on purpose."""

from __future__ import annotations

from lamina.errors import LaminaError

__all__ = ["BackupError"]


class BackupError(LaminaError):
    """A backup could not be taken or restored; the message names the file or tool at fault.

    Raised before anything was changed, unless the message says otherwise (a restore that
    succeeded but left a scratch database behind says so and names it).
    """
