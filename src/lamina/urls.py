"""Database URLs: parsing, the DB_PATH fallback, and redaction for every message lamina prints.

``duckdb:///relative/path``, ``duckdb:////absolute/path`` (SQLAlchemy's convention: the path is
what follows the third slash), ``duckdb:///:memory:``, the same for ``sqlite``, and the server
forms ``postgresql://user:pass@host:5432/db?schema=app`` and ``mysql://user:pass@host/db``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

__all__ = ["FILE_SCHEMES", "SERVER_SCHEMES", "DatabaseURL", "URLError", "parse_url"]

FILE_SCHEMES = frozenset({"duckdb", "sqlite"})
SERVER_SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql"}
MEMORY = ":memory:"


class URLError(ValueError):
    """The text is not a database URL lamina understands; the message says why, and
    ``hint`` (when given) what would be understood."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed database URL. ``str()`` and ``repr()`` never show the password."""

    scheme: str  # normalised: duckdb, sqlite, postgresql, mysql
    path: str | None = None  # file engines: the file path, or ":memory:"
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    @property
    def is_memory(self) -> bool:
        return self.path == MEMORY

    @property
    def is_file(self) -> bool:
        return self.scheme in FILE_SCHEMES

    def option(self, name: str) -> str | None:
        """The value of query parameter ``name`` (``?schema=app``), if given."""
        return next((value for key, value in self.query if key == name), None)

    def redacted(self) -> str:
        """The URL with any password replaced by ``***``: safe to print or log."""
        if self.is_file:
            return f"{self.scheme}:///{self.path}"
        auth = ""
        if self.username:
            auth = quote(self.username, safe="")
            if self.password is not None:
                auth += ":***"
            auth += "@"
        host = self.host or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{self.port}" if self.port else ""
        query = "&".join(f"{k}={'***' if 'password' in k.lower() else v}" for k, v in self.query)
        return f"{self.scheme}://{auth}{host}{port}/{self.database or ''}" + (
            f"?{query}" if query else ""
        )

    def __str__(self) -> str:
        return self.redacted()

    def __repr__(self) -> str:
        # The generated repr would show the query, which may carry ``?password=...``.
        return f"DatabaseURL({self.redacted()!r})"


def parse_url(text: str) -> DatabaseURL:
    """Parse a database URL.

    Raises:
        URLError: unknown scheme, missing path or database, bad port. The message never
            contains the password.
    """
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise URLError("not a URL: expected scheme://..., e.g. duckdb:///./app.duckdb")
    scheme = scheme.lower()
    if scheme in FILE_SCHEMES:
        return _parse_file_url(scheme, rest)
    if scheme in SERVER_SCHEMES:
        return _parse_server_url(SERVER_SCHEMES[scheme], text)
    known = "duckdb, sqlite, postgresql, postgres, mysql"
    raise URLError(f"unknown scheme {scheme!r} (known: {known})")


def _parse_file_url(scheme: str, rest: str) -> DatabaseURL:
    if not rest.startswith("/"):
        raise URLError(
            f"{scheme} URLs take a path after three slashes: {scheme}:///path/to/file "
            f"(or {scheme}:////absolute/path, {scheme}:///:memory:)"
        )
    path = rest[1:].split("?", 1)[0]
    if not path:
        raise URLError(f"no file path in the {scheme} URL")
    path = unquote(path)
    if "\x00" in path:  # checked after decoding, so %00 cannot slip a NUL through
        raise URLError("the file path contains a NUL character")
    return DatabaseURL(scheme=scheme, path=path)


def _parse_server_url(scheme: str, text: str) -> DatabaseURL:
    try:
        parts = urlsplit(text)
    except ValueError:
        # urllib's message quotes the netloc, password included: say it without it.
        raise URLError(
            f"the {scheme} URL cannot be parsed (malformed host, or characters that are not "
            "allowed in it; percent-encode the user and password)"
        ) from None
    try:
        port = parts.port
    except ValueError as exc:
        raise URLError("the port is not a number between 1 and 65535") from exc
    if port == 0:
        raise URLError("the port is not a number between 1 and 65535")
    database = unquote(parts.path.lstrip("/")) or None
    if not parts.hostname:
        raise URLError(f"no host in the {scheme} URL")
    if not database:
        raise URLError(f"no database name in the {scheme} URL (…/{scheme}_db)")
    return DatabaseURL(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        database=database,
        # '+' is a plus sign in a URI (time_zone=+02:00), not a space as in an HTML form.
        query=tuple(parse_qsl(parts.query.replace("+", "%2B"))),
    )
