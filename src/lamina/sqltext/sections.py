"""The ``.sql`` migration format: the ``-- key: value`` headers and the ``-- migrate:up`` /
``-- migrate:down`` sections (see :mod:`lamina.sqltext`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamina.models import Category

if TYPE_CHECKING:
    from collections.abc import Sequence


class SqlFormatError(ValueError):
    """A ``.sql`` migration does not follow the format.

    ``str(error)`` is the message alone; ``line`` is the 1-based line it applies to, or ``None``
    when the problem is the file as a whole (no ``-- migrate:up`` marker).
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class SqlSection:
    """The body of one section: the exact text after its marker line, up to the next marker.

    ``transaction`` is dbmate's ``transaction:true|false`` option on the marker line (``None``
    when not given); ``unknown_options`` holds the other words of that line, which lamina does
    not understand (the caller warns, naming ``marker_line``).
    """

    sql: str
    first_line: int  # 1-based line of the file where ``sql`` starts (the line after the marker)
    transaction: bool | None = None
    unknown_options: tuple[str, ...] = ()

    @property
    def marker_line(self) -> int:
        """The 1-based line of the ``-- migrate:up`` / ``-- migrate:down`` marker."""
        return self.first_line - 1


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """``-- batch: TABLE KEY SIZE [background]``: walk ``table`` by ``key`` in ranges of
    ``size`` rows; ``background``: the up runs after the rest of ``lamina up``."""

    table: str
    key: str
    size: int
    background: bool = False


@dataclass(frozen=True, slots=True)
class SqlHeaders:
    """The ``-- key: value`` directives above ``-- migrate:up``; ``None`` when not given."""

    name: str | None = None
    description: str | None = None
    category: str | None = None
    depends: tuple[str, ...] = ()
    transactional: bool | None = None
    #: ``-- empty: true``: the up section is meant to run nothing (else an empty up is refused).
    empty: bool | None = None
    #: ``-- batch: TABLE KEY SIZE [background]``: the up statement runs once per key range
    #: (a backfill), and so does the down when it is one statement using ``:lo`` and ``:hi``.
    batch: BatchSpec | None = None


@dataclass(frozen=True, slots=True)
class SqlSource:
    """A parsed ``.sql`` migration. ``down`` is ``None`` when there is no down marker."""

    headers: SqlHeaders
    up: SqlSection
    down: SqlSection | None

    def transactional(self, down: bool = False) -> bool:
        """Whether the up (or the down) section runs in a transaction: its marker's
        ``transaction:`` option, else the ``-- transactional:`` header, else true."""
        section = self.down if down else self.up
        if section is not None and section.transaction is not None:
            return section.transaction
        return True if self.headers.transactional is None else self.headers.transactional


_NO_UP = (
    "no `-- migrate:up` section; a .sql migration needs `-- migrate:up` "
    "and usually `-- migrate:down`"
)

# Matched against one stripped line of the file, never used to split SQL.
_MARKER_RE = re.compile(r"--\s*migrate:(up|down)(?:\s+(.*))?$", re.IGNORECASE)
_DIRECTIVE_RE = re.compile(r"--\s*([A-Za-z][A-Za-z0-9_-]*)\s*:(.*)")

_HEADER_KEYS = {
    "name": "name",
    "description": "description",
    "category": "category",
    "depends": "depends",
    "depends-on": "depends",
    "depends_on": "depends",
    "transactional": "transactional",
    "empty": "empty",
    "batch": "batch",
}
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
_CATEGORIES = tuple(category.value for category in Category)
_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def parse_sql_migration(text: str) -> SqlSource:
    """Split a ``.sql`` migration into its headers and its up / down sections.

    A leading BOM is dropped and CRLF / CR line endings become ``\\n`` first; line numbers count
    lines of the file as written. An up section without statements is accepted (callers decide).

    Raises:
        SqlFormatError: the markers are missing, repeated or out of order, SQL stands above
            ``-- migrate:up``, or a header is repeated or has an invalid value.
    """
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    markers = [(index, kind) for index, line in enumerate(lines) if (kind := _marker(line))]
    if not any(kind == "up" for _, kind in markers):
        raise SqlFormatError(_NO_UP)

    up_index: int | None = None
    down_index: int | None = None
    headers = _HeaderReader()
    in_comment = False
    for index, line in enumerate(lines):
        kind = _marker(line)
        if kind == "up":
            if up_index is not None:
                raise SqlFormatError(
                    f"a second `-- migrate:up` marker (the first is on line {up_index + 1})",
                    index + 1,
                )
            up_index = index
        elif kind == "down":
            if up_index is None:
                raise SqlFormatError(
                    "`-- migrate:down` comes before `-- migrate:up`; put the up section first",
                    index + 1,
                )
            if down_index is not None:
                raise SqlFormatError(
                    f"a second `-- migrate:down` marker (the first is on line {down_index + 1})",
                    index + 1,
                )
            down_index = index
        elif up_index is None:
            only_comments, in_comment = _comment_line(line, in_comment)
            if not only_comments:
                raise SqlFormatError(
                    "SQL before `-- migrate:up`; statements belong below the marker "
                    "(only comments and `-- key: value` headers may stand above it)",
                    index + 1,
                )
            headers.read(line, index + 1)

    assert up_index is not None  # a marker exists, checked above
    starts = _line_starts(lines)

    def section(marker: int, following: int | None) -> SqlSection:
        begin = starts[marker + 1] if marker + 1 < len(starts) else len(text)
        stop = starts[following] if following is not None else len(text)
        transaction, unknown = _marker_options(lines[marker], marker + 1)
        return SqlSection(text[begin:stop], marker + 2, transaction, unknown)

    return SqlSource(
        headers=headers.result(),
        up=section(up_index, down_index),
        down=None if down_index is None else section(down_index, None),
    )


def _marker(line: str) -> str | None:
    """``"up"`` / ``"down"`` when ``line`` is a section marker, else ``None``."""
    match = _MARKER_RE.match(line.strip())
    return match.group(1).lower() if match else None


def _marker_options(line: str, number: int) -> tuple[bool | None, tuple[str, ...]]:
    """dbmate's options on a marker line: ``transaction:false``; and the words lamina does not
    know (an unknown option, or a word that is not ``key:value``).

    Raises:
        SqlFormatError: ``transaction:`` is given twice or with a value other than true/false.
    """
    match = _MARKER_RE.match(line.strip())
    rest = match.group(2) if match else None
    transaction: bool | None = None
    unknown: list[str] = []
    for word in (rest or "").split():
        key, colon, value = word.partition(":")
        if key.lower() != "transaction" or not colon:
            unknown.append(word)
            continue
        if transaction is not None:
            raise SqlFormatError("the option `transaction` is given twice", number)
        flag = _BOOLEANS.get(value.lower())
        if flag is None:
            raise SqlFormatError(
                f"invalid option value transaction:{value}; expected transaction:true or "
                "transaction:false",
                number,
            )
        transaction = flag
    return transaction, tuple(unknown)


def _line_starts(lines: Sequence[str]) -> list[int]:
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    return starts


def _comment_line(line: str, in_comment: bool) -> tuple[bool, bool]:
    """Whether ``line`` holds only blanks and comments, and whether a ``/*`` is open after it."""
    rest = line
    while True:
        if in_comment:
            close = rest.find("*/")
            if close < 0:
                return True, True
            rest = rest[close + 2 :]
            in_comment = False
        rest = rest.strip()
        if not rest or rest.startswith(("--", "#")):
            return True, False
        if not rest.startswith("/*"):
            return False, False
        rest = rest[2:]
        in_comment = True


class _HeaderReader:
    """Collects the ``-- key: value`` headers, checking each as it comes."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._name: str | None = None
        self._description: str | None = None
        self._category: str | None = None
        self._depends: tuple[str, ...] = ()
        self._transactional: bool | None = None
        self._empty: bool | None = None
        self._batch: BatchSpec | None = None

    def read(self, line: str, number: int) -> None:
        """Take ``line`` (line ``number`` of the file) if it is a known header; ignore it if not."""
        match = _DIRECTIVE_RE.fullmatch(line.strip())
        if match is None:
            return
        key = _HEADER_KEYS.get(match.group(1).lower())
        if key is None:
            return  # an ordinary comment that happens to contain a colon
        if key in self._seen:
            raise SqlFormatError(
                f"header `{key}` is given twice (first on line {self._seen[key]})", number
            )
        self._seen[key] = number
        value = match.group(2).strip()
        if key == "name":
            self._name = value
        elif key == "description":
            self._description = value
        elif key == "category":
            category = value.lower()
            if category not in _CATEGORIES:
                raise SqlFormatError(
                    f"invalid category {value!r}; expected one of: {', '.join(_CATEGORIES)}",
                    number,
                )
            self._category = category
        elif key == "depends":
            self._depends = tuple(value.replace(",", " ").split())
        else:
            self._flag_or_batch(key, value, number)

    def _flag_or_batch(self, key: str, value: str, number: int) -> None:
        if key == "batch":
            self._batch = _batch_spec(value, number)
        else:
            flag = _BOOLEANS.get(value.lower())
            if flag is None:
                raise SqlFormatError(
                    f"invalid {key} value {value!r}; expected true or false (also yes/no, on/off)",
                    number,
                )
            if key == "empty":
                self._empty = flag
            else:
                self._transactional = flag

    def result(self) -> SqlHeaders:
        return SqlHeaders(
            name=self._name,
            description=self._description,
            category=self._category,
            depends=self._depends,
            transactional=self._transactional,
            empty=self._empty,
            batch=self._batch,
        )


def _batch_spec(value: str, number: int) -> BatchSpec:
    """``TABLE KEY SIZE [background]`` of a ``-- batch:`` header (names are checked: they go
    into SQL)."""
    words = value.split()
    usage = (
        "expected `-- batch: TABLE KEY SIZE`, e.g. `-- batch: users id 1000`, or "
        "`-- batch: users id 1000 background` to run it after the rest of `lamina up`"
    )
    if len(words) not in (3, 4):
        raise SqlFormatError(f"invalid batch value {value!r}; {usage}", number)
    table, key, size = words[:3]
    if len(words) == 4 and words[3].lower() != "background":
        raise SqlFormatError(
            f"invalid 4th word {words[3]!r} in `-- batch:`: only `background` may follow the "
            f"size; {usage}",
            number,
        )
    for word in (table, key):
        if not _IDENTIFIER_RE.fullmatch(word):
            raise SqlFormatError(f"invalid name {word!r} in `-- batch:`; {usage}", number)
    if not size.isdigit() or int(size) < 1:
        raise SqlFormatError(f"invalid batch size {size!r}: a positive whole number", number)
    return BatchSpec(table, key, int(size), background=len(words) == 4)


_RANGE_MARK = re.compile(r"(?<![:\w]):(lo|hi)\b")


def bind_range_marks(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with each ``:lo``/``:hi`` of a ``-- batch:`` section turned into a ``?`` mark,
    and the names in order (bound as parameters, never spliced into SQL)."""
    names = tuple(match.group(1) for match in _RANGE_MARK.finditer(sql))
    return _RANGE_MARK.sub("?", sql.strip().rstrip(";")), names
