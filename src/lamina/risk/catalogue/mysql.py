"""Rules that only MySQL and MariaDB need: how each ALTER runs (INSTANT, INPLACE, COPY),
and what commits implicitly."""

from __future__ import annotations

from lamina.risk.model import RuleInfo

#: mysql's own rules.
ENTRIES: tuple[RuleInfo, ...] = ()
