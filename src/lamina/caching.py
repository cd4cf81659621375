"""Where lamina keeps what it may reuse between runs, and the files it keeps there.

``LAMINA_CACHE_DIR`` (``off`` for none), else ``$XDG_CACHE_HOME/lamina`` or
``~/.cache/lamina``. Everything kept there only saves time: a file that cannot be read or
written is ignored, and every command works the same without the folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["default_cache_dir", "read_json", "write_json"]


def default_cache_dir() -> Path | None:
    """``LAMINA_CACHE_DIR`` (``off`` for none), else the user's cache folder."""
    configured = os.environ.get("LAMINA_CACHE_DIR", "").strip()
    if configured.lower() in {"off", "none", "false", "0"}:
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lamina"


def read_json(path: Path | None) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when there is none, or it cannot be read."""
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Replace ``path`` with ``document`` at once (another process reads the old file or
    the new one, never half of one); a folder that cannot be written is ignored."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
