"""What earlier runs read of each migration file, kept in the cache folder, so a command
reads, hashes and parses only the files that changed since (``status`` of 10,000 applied
migrations otherwise reads all 10,000 every time).

An entry is used only while the file's ``stat`` is exactly what it was (size, modification
and change times in nanoseconds, inode): any write changes the change time, which no tool
can set back. A file changed within :data:`RACY_S` of being read is not kept, so two writes
within one tick of the file system's clock cannot leave a stale entry (git's "racy clean"
rule). Only files read without any problem, whose metadata came from their text (a ``.sql``
file, or a ``.py`` file that declares it plainly, not one lamina had to import), are kept.
For a kept ``.sql`` file it also keeps the dialects it loaded cleanly for (``validate``
loads each file: its text alone decides, so that is not done twice).
The file is per migrations folder and per lamina version; losing it only costs time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any

from lamina._version import __version__
from lamina.caching import read_json, write_json
from lamina.models import Category, MigrationFile, MigrationMeta

__all__ = ["RACY_S", "ScanStore", "StatKey"]

#: A file modified less than this long before it was read is read again next time.
RACY_S = 2.0
_FORMAT = 1
#: ``(size, mtime_ns, ctime_ns, inode, allow_unsafe)``: what must not have changed.
StatKey = tuple[int, int, int, int, int]


class ScanStore:
    """The kept files of one migrations folder (loaded on first use, written by :meth:`save`
    when this run added to it)."""

    def __init__(self, folder: Path, cache_dir: Path | None) -> None:
        self.folder = folder
        digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:20]
        self.path = None if cache_dir is None else cache_dir / "scans" / f"{digest}.json"
        self._entries: dict[str, list[Any]] | None = None
        self._changed = False

    def get(self, path: Path, key: StatKey) -> MigrationFile | None:
        entry = self._load().get(path.name)
        if entry is None or entry[0] != list(key):
            return None
        try:
            return _file_from(path, entry[1])
        except (TypeError, ValueError, KeyError, IndexError):
            return None  # written by other code: read the file again

    def put(self, path: Path, key: StatKey, file: MigrationFile) -> None:
        """Keep ``file``, unless it changed too recently to be sure of its ``stat``."""
        if self.path is None or time.time_ns() - key[2] < RACY_S * 1e9:
            return
        self._load()[path.name] = [list(key), _file_json(file)]
        self._changed = True

    def loads_cleanly(self, file: MigrationFile, dialect: str) -> bool:
        """Whether ``file``, as kept (same checksum), loaded without a problem for
        ``dialect`` before (:meth:`mark_clean`): ``validate`` need not load it again."""
        entry = self._kept(file)
        return entry is not None and len(entry) > 2 and dialect in entry[2]

    def mark_clean(self, file: MigrationFile, dialect: str) -> None:
        """``file`` (a ``.sql`` file kept here) loaded without a problem for ``dialect``."""
        entry = self._kept(file)
        if entry is None:
            return
        dialects = list(entry[2]) if len(entry) > 2 else []
        if dialect not in dialects:
            entry[2:] = [[*dialects, dialect]]
            self._changed = True

    def _kept(self, file: MigrationFile) -> list[Any] | None:
        """The entry kept for ``file`` with its checksum, or None (none, or another text)."""
        entry = self._load().get(file.path.name)
        if entry is None or not isinstance(entry[1], dict):
            return None
        return entry if entry[1].get("checksum") == file.checksum else None

    def save(self, names: set[str]) -> None:
        """Write the kept files still in the folder (``names``), if this run added any."""
        if self.path is None or not self._changed or self._entries is None:
            return
        entries = {name: entry for name, entry in self._entries.items() if name in names}
        write_json(self.path, {"format": _FORMAT, "lamina": __version__, "entries": entries})
        self._changed = False

    def _load(self) -> dict[str, list[Any]]:
        if self._entries is None:
            document = read_json(self.path)
            valid = (
                document is not None
                and document.get("format") == _FORMAT
                and document.get("lamina") == __version__
                and isinstance(document.get("entries"), dict)
            )
            self._entries = dict(document["entries"]) if valid and document else {}
        return self._entries


def _file_json(file: MigrationFile) -> dict[str, Any]:
    meta = dataclasses.asdict(file.meta)
    meta["category"] = file.meta.category.value
    return {
        "id": file.id,
        "version": file.version,
        "slug": file.slug,
        "kind": file.kind,
        "checksum": file.checksum,
        "meta": meta,
    }


def _file_from(path: Path, item: dict[str, Any]) -> MigrationFile:
    meta = dict(item["meta"])
    meta["category"] = Category(meta["category"])
    meta["dependencies"] = tuple(meta["dependencies"])
    return MigrationFile(
        str(item["id"]),
        int(item["version"]),
        str(item["slug"]),
        path,
        item["kind"],
        str(item["checksum"]),
        MigrationMeta(**meta),
    )
