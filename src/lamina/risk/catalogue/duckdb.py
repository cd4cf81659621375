"""Rules that only DuckDB needs: what its ALTER TABLE refuses."""

from __future__ import annotations

from lamina.risk.model import RiskLevel, RuleInfo

#: DuckDB's own rules.
ENTRIES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "duckdb-alter-indexed-table",
        RiskLevel.WARNING,
        "ALTER TABLE on a DuckDB table that has an index",
        "DuckDB refuses most ALTER TABLE forms on a table with an index (CREATE INDEX): "
        "'Dependency Error: Cannot alter entry ... because there are entries that depend on "
        "it'. Adding a nullable column and SET/DROP DEFAULT still work",
        "drop the index, alter the table, and create the index again in the same migration; "
        "when the ALTER drops or retypes a column the index covered, DuckDB refuses even that "
        "inside one transaction, so drop the index in an earlier migration or mark this one "
        "`-- transactional: false`",
        ("duckdb",),
    ),
)

#: General rules' safer way on this engine, by rule id (merged into the catalogue).
ALTERNATIVES: dict[str, str] = {}

#: General rules that do not apply on this engine, because one of its own rules above judges
#: the same statements with what the engine really does.
REPLACES: frozenset[str] = frozenset()
