"""Rules that only MySQL and MariaDB need: how each ALTER runs (INSTANT, INPLACE, COPY),
and what commits implicitly."""

from __future__ import annotations

from lamina.risk.model import RuleInfo

#: mysql's own rules.
ENTRIES: tuple[RuleInfo, ...] = ()

#: General rules' safer way on this engine, by rule id (merged into the catalogue).
ALTERNATIVES: dict[str, str] = {
    "column-type-change": (
        "a type change copies the table (ALGORITHM=COPY) and blocks writes; use an online "
        "schema-change tool (gh-ost, pt-online-schema-change) or a new column plus "
        "backfill. MODIFY/CHANGE restate the type, so lamina reports them even when the "
        "type stays the same: use RENAME COLUMN or ALTER COLUMN ... SET DEFAULT for "
        "changes that are not type changes"
    ),
    "add-foreign-key": (
        "InnoDB copies the table (ALGORITHM=COPY) unless foreign_key_checks=0, when it "
        "builds the key in place without validating: check for orphan rows with a query "
        "first, then add the key with SET foreign_key_checks = 0 in the same session"
    ),
    "add-check": (
        "MySQL has no NOT VALID: check the rows with a query first, and run it off-peak "
        "or with an online schema-change tool (gh-ost, pt-online-schema-change)"
    ),
    "add-unique-constraint": (
        "InnoDB builds it online, but look for duplicates with a GROUP BY ... HAVING "
        "count(*) > 1 query first"
    ),
}

#: General rules that do not apply on this engine, because one of its own rules above judges
#: the same statements with what the engine really does.
REPLACES: frozenset[str] = frozenset()
