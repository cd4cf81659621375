"""A submodule imported on its first use.

``lamina.api`` reaches its parts (``migrate``, ``checks``, ``backups``...) through these, so
``status`` and ``health`` load neither the runner, the loader nor the risk analysis that only
``up``, ``rollback`` and ``lint`` need.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Deferred"]


class Deferred:
    """Stands for the module ``name`` until an attribute of it is asked for."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)
