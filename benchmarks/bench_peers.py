"""The peers, alembic and yoyo-migrations, in the benchmark's own venv (benchmarks/.venv).

They live apart from lamina's dev venv so that installing them can neither change what lamina
imports nor be undone by a reinstall of lamina. The venv is made from the interpreter that runs
the benchmark (same Python version as lamina's processes, so interpreter start-up costs the
same), and the database drivers are pinned to the versions lamina's interpreter has, so the
peers talk to each engine through the same driver builds as lamina and the floor.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
BIN = VENV / "bin"
# Pinned so that figures from two runs compare; bump deliberately and say so in the report.
PEERS = ["alembic==1.20.1", "SQLAlchemy==2.1.9", "yoyo-migrations==9.0.0", "duckdb_engine==0.17.0"]
# Installed at the version lamina's interpreter has (any version if it has none).
DRIVERS = {"duckdb": "duckdb", "psycopg[binary]": "psycopg", "PyMySQL": "PyMySQL"}
PROFILER = ["pyinstrument==5.1.3"]  # for the profiles in docs/performance.md, not the timings
MARKER = VENV / ".bench-requirements.json"


def requirements() -> list[str]:
    """The peers, the drivers at the dev interpreter's versions, and the profiler."""
    pins = []
    for requirement, dist in DRIVERS.items():
        try:
            pins.append(f"{requirement}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pins.append(requirement)
    return [*PEERS, *pins, *PROFILER]


def ensure_venv(log: object = print) -> str | None:
    """Create and fill benchmarks/.venv on first use; None when ready, else why not.

    Only PyPI is used, through pip. The requirement list is stored beside the venv, so a
    changed pin reinstalls and an unchanged one costs nothing.
    """
    wanted = requirements()
    if MARKER.exists() and json.loads(MARKER.read_text()) == wanted:
        return None
    try:
        if not (BIN / "python").exists():
            log(f"creating {VENV} (first use)")  # type: ignore[operator]
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        log("installing " + " ".join(wanted))  # type: ignore[operator]
        subprocess.run(
            [
                str(BIN / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                *wanted,
            ],
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"the peers' venv could not be set up ({exc})"
    MARKER.write_text(json.dumps(wanted))
    return None


def versions() -> dict[str, str]:
    """Versions of the peers and drivers as installed in the venv (for the report)."""
    names = ["alembic", "SQLAlchemy", "yoyo-migrations", "duckdb_engine", "duckdb", "psycopg"]
    names.append("PyMySQL")
    code = (
        "import importlib.metadata as m, json, sys\n"
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    out = subprocess.run(
        [str(BIN / "python"), "-c", code, *names], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))
