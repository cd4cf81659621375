"""Measure lamina as it runs once installed: from compiled bytecode.

``pip install`` compiles every module to ``__pycache__``; a checkout run from ``src/`` with
``PYTHONDONTWRITEBYTECODE`` set (some sandboxes and CI images set it) never gets those files,
so each lamina process compiles its ~140 modules again: about 60–200 ms that no installed
lamina pays, and that the peers (installed by pip) never pay. The benchmarks compile the
lamina under test once and let every process they start (lamina's and the peers' alike) read
and write bytecode caches.
"""

from __future__ import annotations

import compileall
from collections.abc import Mapping
from pathlib import Path

#: The variable that stops Python from writing ``__pycache__`` files.
NO_BYTECODE = "PYTHONDONTWRITEBYTECODE"


def allow_bytecode(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the variable that stops bytecode caches from being written."""
    return {key: value for key, value in env.items() if key != NO_BYTECODE}


def compile_tree(src: Path) -> str:
    """Compile every module under ``src`` (as pip does at install); a line for the report."""
    ok = compileall.compile_dir(str(src), quiet=1, workers=0)
    state = "compiled" if ok else "compiled with errors"
    return f"lamina's modules {state} to bytecode before timing, as an install does"
