"""The live schema of a database as a normalised snapshot, and the differences between two.

A verify tool takes a snapshot, runs a migration up and down, takes another and reports
:func:`diff`; a snapshot's :meth:`~Snapshot.digest` can be stored to notice drift later.
Snapshots of one engine compare across databases; spellings differ between engines.

Example::

    before = snapshot(backend)
    ...  # up, then down
    for difference in diff(before, snapshot(backend)):
        print(difference.describe("down"))   # "down leaves column users.phone_number"
"""

from __future__ import annotations

from lamina.schema.builder import LAMINA_OBJECTS
from lamina.schema.capture import fingerprint, snapshot
from lamina.schema.diff import Difference, Kind, diff, without_sequence_starts
from lamina.schema.model import Column, ForeignKey, Index, SchemaObject, Snapshot, Table, View

__all__ = [
    "LAMINA_OBJECTS",
    "Column",
    "Difference",
    "ForeignKey",
    "Index",
    "Kind",
    "SchemaObject",
    "Snapshot",
    "Table",
    "View",
    "diff",
    "fingerprint",
    "snapshot",
    "without_sequence_starts",
]
