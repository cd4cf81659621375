"""Cases for mysql's own rules (dialect ``mysql``)."""

from __future__ import annotations

from support.risk_cases import Case

POSITIVE: tuple[Case, ...] = ()
NEGATIVE: tuple[Case, ...] = ()
