"""Cases for duckdb's own rules (dialect ``duckdb``)."""

from __future__ import annotations

from support.risk_cases import Case

POSITIVE: tuple[Case, ...] = ()
NEGATIVE: tuple[Case, ...] = ()
