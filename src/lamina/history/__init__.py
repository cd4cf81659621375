"""lamina's own tables in the target database: what was applied, and a log of every change.

:class:`History` (``store``) reads and writes them; ``tables`` declares them once, and
``layout`` creates, checks, upgrades and diagnoses them.
"""

from __future__ import annotations

from lamina.history.store import History

__all__ = ["History"]
