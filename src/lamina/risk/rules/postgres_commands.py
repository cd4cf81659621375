"""Reading the PostgreSQL commands sqlglot leaves opaque (``VACUUM``, ``REINDEX``, ``LOCK``,
``REFRESH``) from their words: the names they act on and the options they take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Maintenance", "names", "reindex", "vacuum"]


@dataclass(frozen=True, slots=True)
class Maintenance:
    """``VACUUM`` or ``REINDEX``, read from its words: ``kind`` is REINDEX's object kind
    (``TABLE``, ``INDEX``, ``SCHEMA``...), ``names`` what it names (none: everything)."""

    kind: str
    names: list[str]
    full: bool = False
    concurrently: bool = False


_VACUUM_OPTIONS = frozenset({"FULL", "FREEZE", "VERBOSE", "ANALYZE"})


def vacuum(words: Sequence[str]) -> Maintenance | None:
    """``VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [t, ...]`` or ``VACUUM (FULL, ...) t``."""
    if words[:1] != ("VACUUM",):
        return None
    options, rest = _options(words[1:])
    while rest[:1] and rest[0] in _VACUUM_OPTIONS:
        options.append(rest[0])
        rest = rest[1:]
    return Maintenance("VACUUM", names(rest), full="FULL" in options)


def reindex(words: Sequence[str]) -> Maintenance | None:
    """``REINDEX [(options)] {INDEX | TABLE | SCHEMA | DATABASE | SYSTEM} [CONCURRENTLY] name``."""
    if words[:1] != ("REINDEX",):
        return None
    options, rest = _options(words[1:])
    kind, rest = (rest[0], rest[1:]) if rest else ("", rest)
    concurrently = rest[:1] == ("CONCURRENTLY",) or "CONCURRENTLY" in options
    named = names(rest[1:] if rest[:1] == ("CONCURRENTLY",) else rest)
    return Maintenance(kind, named, concurrently=concurrently)


def _options(words: Sequence[str]) -> tuple[list[str], Sequence[str]]:
    """A parenthesised option list at the start of ``words``, and what follows it."""
    if words[:1] != ("(",) or ")" not in words:
        return [], words
    end = list(words).index(")")
    return [word for word in words[1:end] if word != ","], words[end + 1 :]


_NAME_ENDS = frozenset({"IN", "USING", "WITH", "NOWAIT", "CASCADE", "RESTRICT", "(", ";"})


def names(words: Sequence[str]) -> list[str]:
    """The (dotted, comma-separated) names that start ``words``, lower-cased."""
    names: list[str] = []
    current = ""
    for word in words:
        if word in _NAME_ENDS:
            break
        if word == ",":
            names.append(current)
            current = ""
        else:
            current += word.lower()
    return [*names, current] if current else names
