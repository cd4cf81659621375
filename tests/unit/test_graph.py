"""DependencyGraph: pure ordering, dependency resolution, cycles and reachability."""

from __future__ import annotations

import itertools

import pytest

from lamina.graph import DependencyGraph, GraphIssue, Node


def build(*nodes: Node) -> DependencyGraph:
    return DependencyGraph.build(nodes)


def issues_of(graph: DependencyGraph, kind: str) -> list[GraphIssue]:
    return [issue for issue in graph.issues if issue.kind == kind]


def test_without_dependencies_the_order_is_version_order() -> None:
    graph = build(Node("003_c", 3), Node("001_a", 1), Node("002_b", 2))

    assert graph.order == ("001_a", "002_b", "003_c")
    assert graph.issues == ()


def test_order_does_not_depend_on_the_order_files_are_listed() -> None:
    nodes = [
        Node("001_a", 1),
        Node("002_b", 2, ("004_d",)),
        Node("003_c", 3),
        Node("004_d", 4),
        Node("005_e", 5, ("001_a",)),
    ]
    orders = {DependencyGraph.build(p).order for p in itertools.permutations(nodes)}

    assert orders == {("001_a", "003_c", "004_d", "002_b", "005_e")}


def test_equal_versions_tie_break_by_id() -> None:
    graph = build(Node("001_b", 1), Node("001_a", 1), Node("000_z", 0))

    assert graph.order == ("000_z", "001_a", "001_b")


def test_dependency_overrides_version_order() -> None:
    # 001 depends on 003, so 003 must run first; 002 has no constraint and keeps its place.
    graph = build(Node("001_a", 1, ("003_c",)), Node("002_b", 2), Node("003_c", 3))

    assert graph.order == ("002_b", "003_c", "001_a")
    assert graph.parents["001_a"] == ("003_c",)
    assert graph.issues == ()


def test_a_dependency_only_moves_what_it_must() -> None:
    graph = build(
        Node("001_a", 1),
        Node("002_b", 2, ("005_e",)),
        Node("003_c", 3),
        Node("004_d", 4),
        Node("005_e", 5),
    )

    assert graph.order == ("001_a", "003_c", "004_d", "005_e", "002_b")


@pytest.mark.parametrize("spelling", ["1", "001", "0001"])
def test_dependency_by_version_number_resolves_to_the_file_with_that_version(
    spelling: str,
) -> None:
    graph = build(Node("001_x", 1), Node("002_y", 2, (spelling,)))

    assert graph.parents["002_y"] == ("001_x",)
    assert graph.issues == ()


def test_dependency_by_version_changes_the_order() -> None:
    graph = build(Node("001_x", 1, ("20",)), Node("020_z", 20))

    assert graph.order == ("020_z", "001_x")


def test_dependency_by_id_wins_over_a_version_of_the_same_spelling() -> None:
    # A migration whose id is literally "7" is named by id, not the file with version 7.
    graph = build(Node("7", 100), Node("007_seven", 7), Node("200_x", 200, ("7",)))

    assert graph.parents["200_x"] == ("7",)


def test_dependency_by_version_with_duplicate_versions_picks_the_first_by_id() -> None:
    graph = build(Node("001_b", 1), Node("001_a", 1), Node("002_c", 2, ("1",)))

    assert graph.parents["002_c"] == ("001_a",)


def test_repeated_dependency_is_recorded_once() -> None:
    graph = build(Node("001_a", 1), Node("002_b", 2, ("001_a", "1", "001_a")))

    assert graph.parents["002_b"] == ("001_a",)
    assert graph.descendants("001_a") == {"002_b"}


@pytest.mark.parametrize("dep", ["999_nowhere", "42", "create_users"])
def test_unknown_dependency_is_reported_against_the_dependent(dep: str) -> None:
    graph = build(Node("001_a", 1), Node("002_b", 2, (dep,)))

    assert graph.issues == (GraphIssue("unknown", ("002_b",), dep),)
    # The node is still ordered (it simply has no resolved parent).
    assert graph.order == ("001_a", "002_b")
    assert graph.parents["002_b"] == ()


def test_two_node_cycle_names_both_ids() -> None:
    graph = build(Node("001_a", 1, ("002_b",)), Node("002_b", 2, ("001_a",)), Node("003_c", 3))

    cycles = issues_of(graph, "cycle")
    assert len(cycles) == 1
    ids = cycles[0].ids
    assert set(ids) == {"001_a", "002_b"}
    assert ids[0] == ids[-1]  # reported as a closed loop: a → b → a
    assert len(ids) == 3
    # Every node still appears in the order, so reports can list them.
    assert sorted(graph.order) == ["001_a", "002_b", "003_c"]
    assert graph.order[0] == "003_c"


def test_three_node_cycle_names_every_id_in_the_cycle_and_no_other() -> None:
    graph = build(
        Node("001_a", 1, ("003_c",)),
        Node("002_b", 2, ("001_a",)),
        Node("003_c", 3, ("002_b",)),
        Node("004_d", 4),
    )

    cycles = issues_of(graph, "cycle")
    assert len(cycles) == 1
    ids = cycles[0].ids
    assert set(ids) == {"001_a", "002_b", "003_c"}
    assert len(ids) == 4 and ids[0] == ids[-1]
    # Consecutive ids follow real edges: each depends on the next one.
    for child, parent in itertools.pairwise(ids):
        assert parent in graph.parents[child]


def test_node_depending_on_a_cycle_is_not_reported_as_part_of_it() -> None:
    graph = build(
        Node("001_a", 1, ("002_b",)),
        Node("002_b", 2, ("001_a",)),
        Node("003_c", 3, ("001_a",)),
    )

    cycles = issues_of(graph, "cycle")
    assert len(cycles) == 1
    assert set(cycles[0].ids) == {"001_a", "002_b"}
    assert len(graph.order) == 3


def test_two_separate_cycles_are_both_reported() -> None:
    graph = build(
        Node("001_a", 1, ("002_b",)),
        Node("002_b", 2, ("001_a",)),
        Node("003_c", 3, ("004_d",)),
        Node("004_d", 4, ("003_c",)),
    )

    found = [frozenset(issue.ids) for issue in issues_of(graph, "cycle")]
    assert len(found) == 2
    assert set(found) == {frozenset({"001_a", "002_b"}), frozenset({"003_c", "004_d"})}


@pytest.mark.parametrize("self_ref", ["001_a", "1"])
def test_self_dependency_is_a_cycle_naming_the_node(self_ref: str) -> None:
    graph = build(Node("001_a", 1, (self_ref,)), Node("002_b", 2))

    assert issues_of(graph, "cycle") == [GraphIssue("cycle", ("001_a", "001_a"))]
    assert graph.parents["001_a"] == ()
    assert graph.order == ("001_a", "002_b")


def test_duplicate_ids_keep_the_first_node() -> None:
    graph = build(Node("001_a", 1), Node("001_a", 5, ("missing",)))

    assert graph.nodes["001_a"].version == 1
    assert graph.issues == ()


def test_ancestors_and_descendants_are_transitive() -> None:
    graph = build(
        Node("001_a", 1),
        Node("002_b", 2, ("001_a",)),
        Node("003_c", 3, ("002_b",)),
        Node("004_d", 4, ("001_a",)),
        Node("005_e", 5),
    )

    assert graph.ancestors("003_c") == {"002_b", "001_a"}
    assert graph.ancestors("001_a") == set()
    assert graph.descendants("001_a") == {"002_b", "003_c", "004_d"}
    assert graph.descendants("002_b") == {"003_c"}
    assert graph.descendants("005_e") == set()
    assert graph.ancestors("005_e") == set()


def test_ancestors_and_descendants_terminate_on_a_cycle() -> None:
    graph = build(Node("001_a", 1, ("002_b",)), Node("002_b", 2, ("001_a",)))

    assert graph.ancestors("001_a") == {"001_a", "002_b"}
    assert graph.descendants("002_b") == {"001_a", "002_b"}


def test_every_dependency_comes_before_its_dependent_in_a_larger_graph() -> None:
    nodes = [
        Node(f"{v:03d}_m", v, tuple(f"{d:03d}_m" for d in range(v % 7, v, 5))) for v in range(1, 60)
    ]
    graph = DependencyGraph.build(reversed(nodes))

    position = {node_id: index for index, node_id in enumerate(graph.order)}
    assert len(position) == len(nodes)
    for node in nodes:
        for parent in graph.parents[node.id]:
            assert position[parent] < position[node.id]
