"""The report: the machine, a markdown table of medians and ratios, and the issue's targets.

Targets are judged and printed as met or missed, never enforced: a benchmark that fails on a
slow machine teaches people to ignore it. The ratios are what carries from one machine to
another; the absolute figures are this machine's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

LEGEND = (
    "Times are wall-clock milliseconds of whole processes: median (min–max). "
    "**×floor** is lamina's median over the floor's (1.00× = nothing on top of the raw "
    "driver). **lamina/alembic** and **lamina/yoyo** are lamina's median over the peer's "
    "(below 1 = lamina faster; 0.20× = 5× faster). For W2 the alembic column is "
    "`alembic current`; `alembic history` is in the table of every measurement."
)


class Result(Protocol):
    """What the report reads of a measurement (run.Measurement)."""

    workload: str
    engine: str
    n: int | None
    tool: str
    command: str
    times_s: list[float]
    error: str | None
    na: str | None

    @property
    def median_s(self) -> float | None: ...


@dataclass
class Machine:
    """Where and how the figures were taken."""

    cpu: str
    cores: int
    memory: str
    os: str
    python: str
    lamina: str
    commit: str
    date: str
    command: str
    engines: dict[str, str]
    settings: dict[str, Any]
    peers: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass
class Target:
    """One target of the issue on one engine: the figure, the limit, met or missed."""

    text: str
    workload: str
    engine: str
    n: int | None
    measured: str
    met: bool | None  # None: not measured in this run
    by: str = ""


class Figures:
    """Medians by (workload, engine, N, tool), for the targets and the table."""

    def __init__(self, results: Iterable[Result]) -> None:
        self.by_key = {(r.workload, r.engine, r.n, r.tool): r for r in results}

    def median(self, workload: str, engine: str, n: int | None, tool: str) -> float | None:
        found = self.by_key.get((workload, engine, n, tool))
        return found.median_s if found else None

    def ratio(self, workload: str, engine: str, n: int | None, tool: str) -> float | None:
        """lamina's median over ``tool``'s, or None if either is missing."""
        lamina = self.median(workload, engine, n, "lamina")
        other = self.median(workload, engine, n, tool)
        return lamina / other if lamina and other else None

    def engines(self) -> list[str]:
        return list(dict.fromkeys(e for (_, e, _, _) in self.by_key if e != "any"))


# -- targets ------------------------------------------------------------------------------------
def targets(results: Sequence[Result]) -> list[Target]:
    """Every target of the issue, judged on every engine measured."""
    fig = Figures(results)
    found = [_at_most_ms(fig, "W3 --help ≤ 60 ms", "W3 --help", "any", None, 60)]
    for engine in fig.engines():
        found += [
            _at_most_ratio(fig, "W1 up 1,000 ≤ 1.15× floor", "W1 up", engine, 1000, 1.15),
            _at_most_ratio(fig, "W2 status 1,000 ≤ 2× floor", "W2 status", engine, 1000, 2),
            _faster(fig, "W2 status 1,000 ≥ 5× faster than alembic", engine, "alembic"),
            _faster(fig, "W2 status 1,000 ≥ 5× faster than yoyo", engine, "yoyo"),
            _at_most_ratio(fig, "W4 rollback 100 ≤ 1.2× floor", "W4 rollback", engine, 100, 1.2),
        ]
        for workload in ("W2 status", "W5 validate"):
            short = workload.split()[0]
            found.append(
                _at_most_ms(fig, f"{short} at 10,000 ≤ 1 s", workload, engine, 10_000, 1000)
            )
            found.append(_scaling(fig, f"{short} 10,000 ≤ 12× its 1,000", workload, engine))
        found.append(
            _at_most_ratio(fig, "W6 startup ≤ 2× floor (history)", "W6 startup", engine, 1000, 2)
        )
    return found


def _at_most_ratio(
    fig: Figures, text: str, workload: str, engine: str, n: int, limit: float
) -> Target:
    ratio = fig.ratio(workload, engine, n, "floor")
    if ratio is None:
        return Target(text, workload, engine, n, "not measured", None)
    by = "" if ratio <= limit else f"{ratio / limit:.2f}× the limit ({ratio:.2f}× vs {limit}×)"
    return Target(text, workload, engine, n, f"{ratio:.2f}×", ratio <= limit, by)


def _at_most_ms(
    fig: Figures, text: str, workload: str, engine: str, n: int | None, limit_ms: float
) -> Target:
    median = fig.median(workload, engine, n, "lamina")
    if median is None:
        return Target(text, workload, engine, n, "not measured", None)
    ms = median * 1000
    by = "" if ms <= limit_ms else f"+{ms - limit_ms:,.0f} ms ({ms / limit_ms:.2f}× the limit)"
    return Target(text, workload, engine, n, f"{_ms(median)} ms", ms <= limit_ms, by)


def _faster(fig: Figures, text: str, engine: str, peer: str) -> Target:
    """lamina at least 5× faster than the peer (the faster of alembic's two status commands)."""
    peers = [peer, "alembic history"] if peer == "alembic" else [peer]
    times = [fig.median("W2 status", engine, 1000, p) for p in peers]
    lamina = fig.median("W2 status", engine, 1000, "lamina")
    known = [t for t in times if t]
    if not known or not lamina:
        return Target(text, "W2 status", engine, 1000, "not measured", None)
    speedup = min(known) / lamina
    by = "" if speedup >= 5 else f"only {speedup:.2f}× as fast (needs 5×)"
    return Target(text, "W2 status", engine, 1000, f"{speedup:.2f}× faster", speedup >= 5, by)


def _scaling(fig: Figures, text: str, workload: str, engine: str) -> Target:
    big = fig.median(workload, engine, 10_000, "lamina")
    small = fig.median(workload, engine, 1000, "lamina")
    if not big or not small:
        return Target(text, workload, engine, 10_000, "not measured", None)
    factor = big / small
    by = "" if factor <= 12 else f"{factor / 12:.2f}× the limit ({factor:.1f}× vs 12×)"
    return Target(text, workload, engine, 10_000, f"{factor:.1f}×", factor <= 12, by)


# -- markdown -----------------------------------------------------------------------------------
def render_markdown(machine: Machine, results: Sequence[Result], checked: list[Target]) -> str:
    """The whole report: machine, figures, targets, every measurement, what was not measured."""
    return "\n".join(
        [
            *_machine_section(machine),
            "",
            *_main_table(results, checked),
            "",
            *_targets_table(checked),
            "",
            *_details_table(results),
            *_not_measured(results, machine),
        ]
    )


def _machine_section(m: Machine) -> list[str]:
    engines = ", ".join(m.engines.values())
    peers = ", ".join(f"{name} {version}" for name, version in m.peers.items()) or "not run"
    settings = "; ".join(f"{key}: {value}" for key, value in m.settings.items())
    return [
        f"## lamina benchmark, {m.date}",
        "",
        f"- command: `{m.command}`",
        f"- machine: {m.cpu}, {m.cores} cores, {m.memory}; {m.os}",
        f"- Python: {m.python}",
        f"- lamina: {m.lamina} (commit {m.commit})",
        f"- engines: {engines}",
        f"- peers (benchmarks/.venv): {peers}",
        f"- settings: {settings}",
        "- every tool runs in alternation with the others, round after round, on its own "
        "database; lamina runs with BACKUP_ENABLED=false and MIGRATION_REQUIRE_CONFIRMATION="
        "false, so no workload takes a backup or waits for a confirmation",
    ]


def _main_table(results: Sequence[Result], checked: list[Target]) -> list[str]:
    fig = Figures(results)
    cells = list(dict.fromkeys((r.workload, r.engine, r.n) for r in results))
    judged = defaultdict(list)
    for t in checked:
        if t.met is not None:
            judged[(t.workload, t.engine, t.n)].append(t)
    lines = [
        LEGEND,
        "",
        "| workload | engine | N | lamina | floor | ×floor | alembic | lamina/alembic "
        "| yoyo | lamina/yoyo | targets |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for workload, engine, n in cells:

        def cell(tool: str, key: tuple[str, str, int | None] = (workload, engine, n)) -> str:
            return _time_cell(fig.by_key.get((*key, tool)))

        def ratio(tool: str, key: tuple[str, str, int | None] = (workload, engine, n)) -> str:
            return _ratio(fig.ratio(*key, tool))

        row = [workload, engine, _n(n), cell("lamina"), cell("floor"), ratio("floor")]
        row += [cell("alembic"), ratio("alembic"), cell("yoyo"), ratio("yoyo")]
        marks = [f"{t.text.split(' ', 1)[1]}: {_verdict(t)}" for t in judged[(workload, engine, n)]]
        row.append("<br>".join(marks) or "—")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _targets_table(checked: list[Target]) -> list[str]:
    lines = [
        "### Targets of the issue",
        "",
        "| target | engine | measured | result |",
        "|---|---|--:|---|",
    ]
    for t in checked:
        if t.met is not None:
            lines.append(f"| {t.text} | {t.engine} | {t.measured} | {_verdict(t, long=True)} |")
    met = sum(1 for t in checked if t.met)
    missed = sum(1 for t in checked if t.met is False)
    lines += ["", f"{met} met, {missed} missed."]
    unmeasured: dict[str, list[str]] = defaultdict(list)
    for t in checked:
        if t.met is None:
            unmeasured[t.text].append(t.engine)
    if unmeasured:
        listed = [f"{text} ({', '.join(engines)})" for text, engines in unmeasured.items()]
        lines.append("Not measured in this run: " + "; ".join(listed) + ".")
    return lines


def _details_table(results: Sequence[Result]) -> list[str]:
    lines = [
        "### Every measurement",
        "",
        "| workload | engine | N | tool | median ms | min–max ms | runs | command |",
        "|---|---|--:|---|--:|--:|--:|---|",
    ]
    for r in results:
        if r.na:
            continue
        if r.error or r.median_s is None:
            median, spread = "error", (r.error or "no counted run").replace("|", "/")
        else:
            median = _ms(r.median_s)
            spread = f"{_ms(min(r.times_s))}–{_ms(max(r.times_s))}"
        command = f"`{r.command}`"
        lines.append(
            f"| {r.workload} | {r.engine} | {_n(r.n)} | {r.tool} | {median} | {spread} "
            f"| {len(r.times_s)} | {command} |"
        )
    return lines


def _not_measured(results: Sequence[Result], machine: Machine) -> list[str]:
    """Every n/a, grouped by reason, and the engines that did not answer."""
    by_reason: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in results:
        if r.na:
            by_reason[r.na][r.tool].add(r.engine)
    lines = []
    for reason, tools in by_reason.items():
        where = "; ".join(f"{tool} ({', '.join(sorted(e))})" for tool, e in tools.items())
        lines.append(f"- {where}: {reason}")
    for engine, reason in machine.skipped.items():
        lines.append(f"- {engine}: not measured, the server did not answer ({reason})")
    return ["", "### Not measured (n/a)", "", *lines] if lines else []


def _time_cell(found: Result | None) -> str:
    if found is None:
        return "—"
    if found.na:
        return "n/a"
    if found.error or found.median_s is None:
        return "error"
    if len(found.times_s) == 1:
        return _ms(found.median_s)
    return f"{_ms(found.median_s)} ({_ms(min(found.times_s))}–{_ms(max(found.times_s))})"


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _n(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def _verdict(t: Target, long: bool = False) -> str:
    if t.met is None:
        return "not measured"
    if t.met:
        return "met"
    return f"**missed**: {t.by}" if long else "**missed**"
