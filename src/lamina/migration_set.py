"""The migration set: every file, looked up by id and version, ordered by the graph.

Pure: it is built from :class:`~lamina.models.MigrationFile` records (and the ids of applied
migrations whose files are gone, so dependencies on them still resolve) and never reads disk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lamina.graph import DependencyGraph, Node
from lamina.models import (
    AppliedMigration,
    MigrationFile,
    Problem,
    Severity,
    errors_in,
    warnings_in,
)

__all__ = ["MigrationSet"]


@dataclass(slots=True)
class MigrationSet:
    """Files plus their dependency graph; ``problems`` holds everything that is inconsistent."""

    files: dict[str, MigrationFile]
    graph: DependencyGraph
    problems: tuple[Problem, ...]

    @classmethod
    def build(
        cls,
        files: Sequence[MigrationFile],
        applied: Iterable[AppliedMigration] = (),
        scan_problems: Sequence[Problem] = (),
    ) -> MigrationSet:
        """Index ``files``, resolve dependencies and collect every validation problem.

        ``applied`` adds history rows whose files are missing as graph nodes without
        dependencies, so a file that depends on a deleted-but-applied migration still resolves.
        """
        problems = list(scan_problems)
        by_id: dict[str, MigrationFile] = {}
        for file in files:
            if file.id in by_id:
                other = by_id[file.id]
                problems.append(_error(file, f"duplicate id {file.id!r} (also {other.path.name})"))
                continue
            by_id[file.id] = file
        problems.extend(_duplicate_versions(by_id.values()))
        nodes = [Node(f.id, f.version, f.meta.dependencies) for f in by_id.values()]
        nodes += [Node(row.id, row.version) for row in applied if row.id not in by_id]
        graph = DependencyGraph.build(nodes)
        for issue in graph.issues:
            owner = by_id.get(issue.ids[0])
            if issue.kind == "unknown":
                message = f"depends on unknown migration {issue.detail!r}"
            else:
                message = "dependency cycle: " + " → ".join(issue.ids)
            problems.append(
                Problem(Severity.ERROR, message, owner.path if owner else None, code=issue.kind)
            )
        for file in by_id.values():
            if not file.meta.reversible:
                problems.append(
                    Problem(
                        Severity.WARNING,
                        "has no down migration: it cannot be rolled back",
                        file.path,
                        code="irreversible",
                    )
                )
        return cls(by_id, graph, tuple(problems))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return errors_in(self.problems)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return warnings_in(self.problems)

    def ordered(self) -> list[MigrationFile]:
        """Files in execution order (dependencies first, then version)."""
        return [self.files[i] for i in self.graph.order if i in self.files]

    def by_version(self, version: int) -> MigrationFile | None:
        return next((f for f in self.files.values() if f.version == version), None)


def _error(file: MigrationFile, message: str) -> Problem:
    return Problem(Severity.ERROR, message, file.path, code="duplicate")


def _duplicate_versions(files: Iterable[MigrationFile]) -> list[Problem]:
    by_version: dict[int, list[MigrationFile]] = defaultdict(list)
    for file in files:
        by_version[file.version].append(file)
    problems = []
    for version, group in sorted(by_version.items()):
        if len(group) > 1:
            names = ", ".join(sorted(f.path.name for f in group))
            problems.append(_error(group[0], f"duplicate version {version}: {names}"))
    return problems
