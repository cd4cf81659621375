"""The rules for the embedded engines, DuckDB and SQLite: other database files attached,
files written, instance-wide settings."""

from __future__ import annotations

from lamina.reach.tokens import _copy_target, _kind, _name_after, _Tok, _use, _word

# -- DuckDB ----------------------------------------------------------------------------------


def _duckdb(tokens: list[_Tok], own: str | None) -> str | None:  # noqa: PLR0911 - one rule each
    head = tokens[0].word
    if head in {"ATTACH", "DETACH"}:
        return _attach(tokens)
    if head == "USE":
        return _use(tokens, own)
    if head == "EXPORT" and _word(tokens, 1) == "DATABASE":
        return "EXPORT DATABASE writes files outside the database"
    if head == "COPY":
        if _word(tokens, 1) == "FROM" and _word(tokens, 2) == "DATABASE":
            return "COPY FROM DATABASE writes into another database"
        direction, target = _copy_target(tokens)
        if direction == "TO" and target is not None and target.kind == "s":
            return f"writes the file '{target.text}' outside the database"
    if head in {"SET", "RESET"} and _word(tokens, 1) == "GLOBAL":
        return f"{head} GLOBAL changes a setting of the whole DuckDB instance"
    if head in {"CREATE", "DROP"}:
        kind, _ = _kind(tokens)
        if kind == "PERSISTENT":
            return f"{head} PERSISTENT SECRET writes a secret to disk, outside the database"
    return None


def _attach(tokens: list[_Tok]) -> str:
    """ATTACH opens another database file; DETACH closes one the session had attached."""
    if tokens[0].word == "DETACH":
        return (
            f"detaches database {_name_after(tokens, 2 if _word(tokens, 1) == 'DATABASE' else 1)}"
        )
    index = 1
    while _word(tokens, index) in {"DATABASE", "IF", "NOT", "EXISTS", "OR", "REPLACE"}:
        index += 1
    target = tokens[index].text if index < len(tokens) else ""
    return f"attaches database '{target}': statements through it change another database"


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite(tokens: list[_Tok]) -> str | None:
    head = tokens[0].word
    if head in {"ATTACH", "DETACH"}:
        return _attach(tokens)
    if head == "VACUUM":
        for index, token in enumerate(tokens):
            if token.word == "INTO":
                target = tokens[index + 1].text if index + 1 < len(tokens) else ""
                return f"VACUUM INTO writes the file '{target}' outside the database"
    return None
