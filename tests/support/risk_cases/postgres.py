"""Cases for postgres's own rules (dialect ``postgres``)."""

from __future__ import annotations

from support.risk_cases import Case

POSITIVE: tuple[Case, ...] = ()
NEGATIVE: tuple[Case, ...] = ()
