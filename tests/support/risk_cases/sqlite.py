"""Cases for sqlite's own rules (dialect ``sqlite``)."""

from __future__ import annotations

from support.risk_cases import Case

POSITIVE: tuple[Case, ...] = ()
NEGATIVE: tuple[Case, ...] = ()
