"""How fast lamina lints PostgreSQL migrations next to squawk, on the same files.

Writes N migrations (seeded, so every run lints the same text) in lamina's ``.sql`` format, a
realistic mix of what applications ship: new tables, added columns, indexes (some built
concurrently in non-transactional migrations), foreign keys, backfills, type changes, views,
PL/pgSQL functions, seed rows and the occasional drop; each with its down section. Then times
``squawk`` over all the files and ``lamina lint --dialect postgresql`` over the folder, each as
one process (the wait a person or a CI job has), best of K runs, and prints both times and the
ratio (the issue's target: lamina within 1.5x squawk). ``--profile`` adds the top of a
cProfile of lamina's lint, run in-process.

    npm install --prefix /tmp/squawk squawk-cli
    .venv/bin/python benchmarks/lint_speed.py --squawk /tmp/squawk/node_modules/.bin/squawk
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TYPES = ("bigint", "integer", "text", "varchar(120)", "boolean", "timestamptz", "jsonb", "numeric")


class Writer:
    """Writes one migration of each kind; ``tables`` are the ones created so far."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tables: list[str] = []
        self.columns: dict[str, list[str]] = {}
        self.serial = 0

    def name(self, stem: str) -> str:
        self.serial += 1
        return f"{stem}_{self.serial}"

    def table(self) -> tuple[str, str, str]:
        table = self.name("t")
        cols = [self.name("c") for _ in range(self.rng.randint(3, 9))]
        defs = [f"    {c} {self.rng.choice(TYPES)}" for c in cols]
        if self.tables:
            parent = self.rng.choice(self.tables)
            defs.append(f"    {parent}_id bigint REFERENCES {parent} (id)")
        self.tables.append(table)
        self.columns[table] = cols
        body = ",\n".join(
            ["    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", *defs, "    created_at "
             "timestamptz NOT NULL DEFAULT now()"]
        )  # fmt: skip
        index = f"CREATE INDEX {table}_created_idx ON {table} (created_at);"
        up = f"CREATE TABLE {table} (\n{body}\n);\n{index}"
        return f"create {table}", up, f"DROP TABLE {table};"

    def add_column(self) -> tuple[str, str, str]:
        table, column = self.rng.choice(self.tables), self.name("c")
        self.columns[table].append(column)
        default = self.rng.choice(["", " DEFAULT 0", " NOT NULL DEFAULT ''", ""])
        kind = "text" if "''" in default else self.rng.choice(("integer", "bigint", "text"))
        if "0" in default:
            kind = "integer"
        up = f"ALTER TABLE {table} ADD COLUMN {column} {kind}{default};"
        return f"add {column}", up, f"ALTER TABLE {table} DROP COLUMN {column};"

    def index(self) -> tuple[str, str, str]:
        table = self.rng.choice(self.tables)
        column = self.rng.choice(self.columns[table])
        index = f"{table}_{column}_idx"
        if self.rng.random() < 0.5:
            up = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} ({column});"
            down = f"DROP INDEX CONCURRENTLY IF EXISTS {index};"
            return f"index {index}", f"-- transactional-marker\n{up}", down
        return (
            f"index {index}",
            f"CREATE INDEX {index} ON {table} ({column});",
            f"DROP INDEX {index};",
        )

    def foreign_key(self) -> tuple[str, str, str]:
        child, parent = self.rng.choice(self.tables), self.rng.choice(self.tables)
        column, name = self.name("ref"), self.name("fk")
        valid = " NOT VALID" if self.rng.random() < 0.5 else ""
        up = (
            f"ALTER TABLE {child} ADD COLUMN {column} bigint;\n"
            f"ALTER TABLE {child} ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
            f"REFERENCES {parent} (id){valid};"
        )
        return f"link {child}", up, f"ALTER TABLE {child} DROP COLUMN {column};"

    def backfill(self) -> tuple[str, str, str]:
        table = self.rng.choice(self.tables)
        column = self.rng.choice(self.columns[table])
        up = (
            f"UPDATE {table} SET {column} = NULL\n"
            f"WHERE id IN (SELECT id FROM {table} WHERE created_at < now() - interval '1 year' "
            "LIMIT 10000);"
        )
        return f"backfill {table}", up, "SELECT 1;"

    def retype(self) -> tuple[str, str, str]:
        table = self.rng.choice(self.tables)
        column = self.rng.choice(self.columns[table])
        up = f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text USING {column}::text;"
        return f"retype {column}", up, f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text;"

    def view(self) -> tuple[str, str, str]:
        table = self.rng.choice(self.tables)
        view = self.name("v")
        cols = ", ".join(self.columns[table][:3])
        up = (
            f"CREATE VIEW {view} AS\n  SELECT id, {cols}, count(*) OVER () AS total\n"
            f"  FROM {table}\n  WHERE created_at > now() - interval '30 days';"
        )
        return f"view {view}", up, f"DROP VIEW {view};"

    def function(self) -> tuple[str, str, str]:
        table = self.rng.choice(self.tables)
        fn = self.name("touch")
        up = (
            f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger AS $$\nBEGIN\n"
            "  NEW.created_at := coalesce(NEW.created_at, now());\n  RETURN NEW;\nEND;\n"
            f"$$ LANGUAGE plpgsql;\nCREATE TRIGGER {fn}_trg BEFORE INSERT ON {table}\n"
            f"  FOR EACH ROW EXECUTE FUNCTION {fn}();"
        )
        return f"trigger {fn}", up, f"DROP TRIGGER {fn}_trg ON {table};\nDROP FUNCTION {fn}();"

    def seed_rows(self) -> tuple[str, str, str]:
        table = f"{self.name('lookup')}"
        rows = ",\n".join(f"  ({i}, 'value {i}')" for i in range(self.rng.randint(3, 12)))
        up = (
            f"CREATE TABLE {table} (id integer PRIMARY KEY, label text NOT NULL);\n"
            f"INSERT INTO {table} (id, label) VALUES\n{rows};"
        )
        return f"seed {table}", up, f"DROP TABLE {table};"

    def drop_column(self) -> tuple[str, str, str]:
        table = self.rng.choice(self.tables)
        if len(self.columns[table]) < 2:
            return self.add_column()
        column = self.columns[table].pop()
        up = f"ALTER TABLE {table} DROP COLUMN {column};"
        return f"drop {column}", up, f"ALTER TABLE {table} ADD COLUMN {column} text;"


#: (weight, kind): roughly what a product's migration history holds.
MIX: tuple[tuple[int, str], ...] = (
    (22, "table"), (22, "add_column"), (16, "index"), (8, "foreign_key"), (8, "backfill"),
    (5, "retype"), (6, "view"), (5, "function"), (5, "seed_rows"), (3, "drop_column"),
)  # fmt: skip


def write_migrations(folder: Path, count: int, seed: int) -> None:
    """``count`` migrations ``0001_<slug>.sql``... in ``folder``, the same for a seed."""
    writer = Writer(seed)
    kinds = [kind for _, kind in MIX]
    weights = [weight for weight, _ in MIX]
    for number in range(1, count + 1):
        kind = "table" if len(writer.tables) < 3 else writer.rng.choices(kinds, weights)[0]
        title, up, down = getattr(writer, kind)()
        header = f"-- name: {title}\n"
        if up.startswith("-- transactional-marker\n"):
            header = "-- transactional: false\n" + header
            up = up.removeprefix("-- transactional-marker\n")
        text = f"{header}\n-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n"
        slug = "_".join(title.split())
        (folder / f"{number:04d}_{slug}.sql").write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class Timing:
    """The best wall time of a command, and the best CPU time (user + system) it used: the
    CPU time moves less when other work shares the machine."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"


def best_of(runs: int, command: list[str], ok: Callable[[int], bool]) -> Timing:
    """The fastest of ``runs`` runs of ``command`` (a whole process each time)."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
        )
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if not ok(done.returncode):
            raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr[-400:]!r}")
    return Timing(min(walls), min(cpus))


def lamina_command(folder: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lamina", "--migrations-dir", str(folder), "lint",
            "--dialect", "postgresql", "--level", "danger", *extra]  # fmt: skip


def check_outputs(folder: Path, count: int, squawk: str | None) -> None:
    """Both tools really lint every file: an exit code of 1 also means a crash, so read
    their JSON once before timing anything."""
    command = lamina_command(folder, "--json")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        linted = len(json.loads(done.stdout)["migrations"])
    except (json.JSONDecodeError, KeyError):
        raise SystemExit(f"lamina lint failed: {done.stderr.strip()[-400:]}") from None
    if linted != count:
        raise SystemExit(f"lamina linted {linted} of {count} migrations")
    if squawk:
        files = [str(path) for path in sorted(folder.glob("*.sql"))]
        command = [squawk, "--reporter", "json", *files]
        json.loads(subprocess.run(command, capture_output=True, check=False).stdout)


def profile_lamina(folder: Path, top: int) -> str:
    """The top of a cProfile of one in-process ``lamina lint`` over ``folder``."""
    from click.testing import CliRunner

    from lamina.cli import cli

    profiler = cProfile.Profile()
    profiler.enable()
    CliRunner().invoke(cli, lamina_command(folder)[3:])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squawk", default=shutil.which("squawk"), help="the squawk binary")
    parser.add_argument("--count", type=int, default=1000, help="migrations to write")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile top N")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lamina-lint-speed-") as scratch:
        folder = Path(scratch)
        write_migrations(folder, args.count, args.seed)
        files = sorted(str(path) for path in folder.glob("*.sql"))
        check_outputs(folder, args.count, args.squawk)
        # lint exits 1 when a migration reaches --level; squawk exits 1 when it reports anything
        lamina = best_of(args.runs, lamina_command(folder), lambda code: code in (0, 1))
        as_json = best_of(args.runs, lamina_command(folder, "--json"), lambda code: code < 2)
        print(f"migrations: {len(files)} (seed {args.seed}), best of {args.runs}")
        print(f"lamina lint --dialect postgresql: {lamina}")
        print(f"lamina lint --dialect postgresql --json: {as_json}")
        if args.squawk:
            squawk = best_of(args.runs, [args.squawk, *files], lambda code: code in (0, 1))
            verdict = "met" if lamina.wall <= 1.5 * squawk.wall else "missed"
            print(f"squawk: {squawk}")
            print(
                f"ratio lamina/squawk: {lamina.wall / squawk.wall:.1f}x wall, "
                f"{lamina.cpu / squawk.cpu:.1f}x CPU (target 1.5x: {verdict})"
            )
        if args.profile:
            print(profile_lamina(folder, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
