"""The dependency graph of migrations: pure data in, order and problems out.

Dependencies name a migration by id (``001_create_users``) or by version (``1``). The order is
a topological sort that breaks ties by version then id, so without dependencies it is simply
version order, and it is stable however the files are listed. Nothing here touches files or
databases (alembic's revision graph plays the same role).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["DependencyGraph", "GraphIssue", "Node"]


@dataclass(frozen=True, slots=True)
class Node:
    """A migration as the graph sees it."""

    id: str
    version: int
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GraphIssue:
    """An unknown dependency (``kind="unknown"``) or a cycle (``kind="cycle"``)."""

    kind: str
    ids: tuple[str, ...]
    detail: str = ""


@dataclass(slots=True)
class DependencyGraph:
    """Resolved dependencies, a stable order and the problems found while resolving.

    Build with :meth:`build`. ``order`` always contains every node: nodes caught in a cycle
    are appended in version order so reports can still list them.
    """

    nodes: dict[str, Node]
    parents: dict[str, tuple[str, ...]]
    order: tuple[str, ...]
    issues: tuple[GraphIssue, ...] = ()
    _children: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, nodes: Iterable[Node]) -> DependencyGraph:
        by_id: dict[str, Node] = {}
        for node in nodes:
            by_id.setdefault(node.id, node)
        by_version: dict[int, str] = {}
        for node in sorted(by_id.values(), key=_sort_key):
            by_version.setdefault(node.version, node.id)
        issues: list[GraphIssue] = []
        parents: dict[str, tuple[str, ...]] = {}
        children: dict[str, list[str]] = {node_id: [] for node_id in by_id}
        for node in by_id.values():
            resolved: list[str] = []
            for dep in node.dependencies:
                target = _resolve(dep, by_id, by_version)
                if target is None:
                    issues.append(GraphIssue("unknown", (node.id,), dep))
                elif target != node.id and target not in resolved:
                    resolved.append(target)
                elif target == node.id:
                    issues.append(GraphIssue("cycle", (node.id, node.id)))
            parents[node.id] = tuple(resolved)
            for parent in resolved:
                children[parent].append(node.id)
        order, leftover = _topological_order(by_id, parents, children)
        if leftover:
            issues.extend(_cycles(leftover, parents))
            order.extend(sorted(leftover, key=lambda i: _sort_key(by_id[i])))
        return cls(by_id, parents, tuple(order), tuple(issues), children)

    def ancestors(self, node_id: str) -> set[str]:
        """Every migration ``node_id`` depends on, directly or not."""
        return self._walk(node_id, self.parents)

    def descendants(self, node_id: str) -> set[str]:
        """Every migration that depends on ``node_id``, directly or not."""
        return self._walk(node_id, {k: tuple(v) for k, v in self._children.items()})

    @staticmethod
    def _walk(start: str, edges: dict[str, tuple[str, ...]]) -> set[str]:
        seen: set[str] = set()
        stack = list(edges.get(start, ()))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(edges.get(current, ()))
        return seen


def _sort_key(node: Node) -> tuple[int, str]:
    return (node.version, node.id)


def _resolve(dep: str, by_id: dict[str, Node], by_version: dict[int, str]) -> str | None:
    if dep in by_id:
        return dep
    if dep.isdigit():
        return by_version.get(int(dep))
    return None


def _topological_order(
    by_id: dict[str, Node],
    parents: dict[str, tuple[str, ...]],
    children: dict[str, list[str]],
) -> tuple[list[str], set[str]]:
    """Kahn's algorithm with a heap keyed by (version, id): O(n log n), stable."""
    waiting = {node_id: len(parents[node_id]) for node_id in by_id}
    ready = [_sort_key(by_id[i]) for i, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node_id = heapq.heappop(ready)
        order.append(node_id)
        for child in children[node_id]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, _sort_key(by_id[child]))
    return order, {i for i, count in waiting.items() if count > 0}


def _cycles(leftover: set[str], parents: dict[str, tuple[str, ...]]) -> list[GraphIssue]:
    """Name each cycle among the nodes Kahn's algorithm could not place."""
    issues: list[GraphIssue] = []
    reported: set[str] = set()
    for start in sorted(leftover):
        if start in reported:
            continue
        path: list[str] = []
        position: dict[str, int] = {}
        current: str | None = start
        while current is not None and current not in position:
            position[current] = len(path)
            path.append(current)
            current = next((p for p in parents[current] if p in leftover), None)
        if current is None:
            continue
        cycle = path[position[current] :]
        if reported.isdisjoint(cycle):
            issues.append(GraphIssue("cycle", (*cycle, cycle[0])))
        reported.update(cycle)
    return issues
