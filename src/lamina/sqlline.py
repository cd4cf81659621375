"""SQL shown on one line in a message, its meaning kept (used by :mod:`lamina.errors`)."""

from __future__ import annotations

__all__ = ["one_line_sql"]


def one_line_sql(sql: str) -> str:
    """``sql`` on one line for a message, its meaning kept: a ``-- comment`` ends at its line,
    so joining lines would let it seem to swallow the rest; it becomes ``/* comment */`` (or
    is dropped when it holds ``*/``). Quotes are respected: ``'--'`` in a string stays."""
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(sql):
        char = sql[i]
        if quote is not None:
            out.append(char)
            if char == quote:
                quote = None
            i += 1
        elif char in "'\"`":
            quote = char
            out.append(char)
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            comment = sql[i + 2 : end].strip()
            if comment and "*/" not in comment:
                out.append(f" /* {comment} */ ")
            else:
                out.append(" ")
            i = end
        else:
            out.append(char)
            i += 1
    return " ".join("".join(out).split())
