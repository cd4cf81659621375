"""The PostgreSQL statements sqlglot leaves opaque, read by lamina from their tokens.

sqlglot 30 reads several statements lamina must judge only as an opaque ``Command``, or as a
bare name, or cannot parse them at all. lamina never extends sqlglot's classes (the compiled
build, ``sqlglot[c]``, forbids it); it reads these statements from sqlglot's own tokens into
the small immutable records below, and the rules read those:

- ``ALTER TABLE t`` whose every action is one of: ``VALIDATE CONSTRAINT c`` (the second half
  of the safe way to add a foreign key or CHECK), ``ADD CONSTRAINT c UNIQUE | PRIMARY KEY
  USING INDEX i`` (the instant second half of a concurrent unique build), an unnamed ``ADD
  CHECK (...)``, ``DETACH PARTITION p [CONCURRENTLY | FINALIZE]``, ``ATTACH PARTITION p ...``.
  An ALTER TABLE that mixes them with other actions stays opaque, its kind named;
- ``ALTER TYPE t ADD VALUE 'v'``, ``ALTER DOMAIN d ...`` and ``CLUSTER [t [USING i]]``;
- ``DROP INDEX a, b``, which sqlglot cannot parse, as the ``exp.Drop`` it gives for one name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlglot import Token, TokenType, exp


@dataclass(frozen=True, slots=True)
class ValidateConstraint:
    """``VALIDATE CONSTRAINT name``."""

    name: str


@dataclass(frozen=True, slots=True)
class AddConstraintUsingIndex:
    """``ADD CONSTRAINT name UNIQUE | PRIMARY KEY USING INDEX index`` (``kind``: the words)."""

    name: str
    kind: str
    index: str


@dataclass(frozen=True, slots=True)
class AddCheck:
    """``ADD CHECK (...) [NOT VALID]`` without a constraint name (PostgreSQL makes one up)."""

    not_valid: bool = False


@dataclass(frozen=True, slots=True)
class DetachPartition:
    """``DETACH PARTITION p [CONCURRENTLY | FINALIZE]``."""

    partition: exp.Table
    concurrently: bool = False
    finalize: bool = False


@dataclass(frozen=True, slots=True)
class AttachPartition:
    """``ATTACH PARTITION p {FOR VALUES ... | DEFAULT}``."""

    partition: exp.Table


Action = ValidateConstraint | AddConstraintUsingIndex | AddCheck | DetachPartition | AttachPartition


@dataclass(frozen=True, slots=True)
class AlterTable:
    """An ``ALTER TABLE`` whose every action is one of :data:`Action`."""

    table: exp.Table
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class AddEnumValue:
    """``ALTER TYPE t ADD VALUE [IF NOT EXISTS] 'v' [BEFORE | AFTER 'w']``."""

    enum: exp.Table
    value: str
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True)
class AlterDomain:
    """``ALTER DOMAIN d <action>``: ``action`` names it (``ADD CONSTRAINT``, ``SET NOT NULL``,
    ``VALIDATE CONSTRAINT``...); ``not_valid`` for ``ADD ... NOT VALID``."""

    domain: exp.Table
    action: str
    not_valid: bool = False


@dataclass(frozen=True, slots=True)
class Cluster:
    """``CLUSTER [table [USING index]]``; no table reclusters every clustered table."""

    table: exp.Table | None = None
    index: exp.Table | None = None


Recognised = AlterTable | AddEnumValue | AlterDomain | Cluster

_T = TokenType
#: Tokens that hold a string's text (an enum label may be written in any of these forms).
_STRINGS = frozenset({_T.STRING, _T.HEREDOC_STRING, _T.NATIONAL_STRING, _T.UNICODE_STRING})
_QUOTED = frozenset({TokenType.IDENTIFIER, *_STRINGS})


#: One word of a statement: as a keyword (upper-cased; ``""`` for a quoted name or a string),
#: and its token when it may be a name or a string.
_Word = tuple[str, Token | None]


def _words(tokens: Sequence[Token]) -> list[_Word]:
    """The statement's words. sqlglot makes one token of some keywords (``PRIMARY KEY``):
    they give a word per part, none of which is a name."""
    words: list[_Word] = []
    for token in tokens:
        if token.token_type in _QUOTED:
            words.append(("", token))
        elif " " in token.text.strip():
            words.extend((part.upper(), None) for part in token.text.split())
        else:
            words.append((token.text.upper(), token))
    return words


class _Reader:
    """A cursor over one statement's words; keywords are compared upper-cased, and a quoted
    name never matches one."""

    def __init__(self, words: list[_Word]) -> None:
        self._words = words
        self._at = 0

    def at_end(self) -> bool:
        return self._at >= len(self._words)

    def word(self, offset: int = 0) -> str:
        """The keyword at the cursor (``""`` for a quoted name, a string or the end)."""
        at = self._at + offset
        return self._words[at][0] if at < len(self._words) else ""

    def _token(self) -> Token | None:
        return self._words[self._at][1] if not self.at_end() else None

    def words(self, *expected: str) -> bool:
        """Consume ``expected`` when the next words are exactly those."""
        if any(self.word(i) != w for i, w in enumerate(expected)):
            return False
        self._at += len(expected)
        return True

    def one_of(self, *expected: str) -> str:
        """Consume and return the next word when it is one of ``expected``; else ``""``."""
        found = self.word()
        if found and found in expected:
            self._at += 1
            return found
        return ""

    def identifier(self) -> exp.Identifier | None:
        token = self._token()
        if token is None or token.token_type in _STRINGS or not _looks_like_a_name(token):
            return None
        self._at += 1
        return exp.Identifier(this=token.text, quoted=token.token_type == TokenType.IDENTIFIER)

    def name(self) -> exp.Table | None:
        """A ``[catalog.][schema.]name``, as sqlglot's table node."""
        parts = [self.identifier()]
        while parts[-1] is not None and self.word() == "." and len(parts) < 3:
            self._at += 1
            parts.append(self.identifier())
        if None in parts:
            return None
        named = [part for part in parts if part is not None]
        catalog, db = ([None, None, *named[:-1]])[-2:]
        return exp.Table(this=named[-1], db=db, catalog=catalog)

    def string(self) -> str | None:
        token = self._token()
        if token is None or token.token_type not in _STRINGS:
            return None
        self._at += 1
        return token.text

    def parenthesised(self) -> bool:
        """Consume a balanced ``( ... )``."""
        if self.word() != "(":
            return False
        depth = 0
        while not self.at_end():
            depth += {"(": 1, ")": -1}.get(self.word(), 0)
            self._at += 1
            if depth == 0:
                return True
        return False

    def rest(self) -> list[str]:
        """The remaining keywords, consumed."""
        found = [word for word, _ in self._words[self._at :]]
        self._at = len(self._words)
        return found

    def actions(self) -> Iterator[_Reader]:
        """The rest, split at its top-level commas (``ALTER TABLE``'s actions)."""
        depth, start = 0, self._at
        for at in range(self._at, len(self._words) + 1):
            word = self._words[at][0] if at < len(self._words) else ","
            depth += {"(": 1, ")": -1}.get(word, 0)
            if word == "," and depth == 0:
                yield _Reader(self._words[start:at])
                start = at + 1
        self._at = len(self._words)


def _looks_like_a_name(token: Token) -> bool:
    quoted = token.token_type == TokenType.IDENTIFIER
    return quoted or token.text[:1].isalpha() or token.text[:1] == "_"


def recognise(tokens: Sequence[Token]) -> Recognised | exp.Drop | None:
    """lamina's reading of one PostgreSQL statement, or None when sqlglot should read it."""
    if not tokens or tokens[0].text.upper() not in _FIRST_WORDS:
        return None
    reader = _Reader(_words(tokens))
    for words, read in _READERS:
        if reader.words(*words):
            return read(reader)
    return None


def _alter_table(reader: _Reader) -> AlterTable | None:
    """``[IF EXISTS] [ONLY] t [*] action, ...``: None unless every action is lamina's."""
    reader.words("IF", "EXISTS")
    reader.words("ONLY")
    table = reader.name()
    reader.words("*")
    if table is None or reader.at_end():
        return None
    actions = []
    for words in reader.actions():
        action = _action(words)
        if action is None:
            return None
        actions.append(action)
    return AlterTable(table, tuple(actions))


def _action(reader: _Reader) -> Action | None:
    action: Action | None = None
    if reader.words("VALIDATE", "CONSTRAINT"):
        name = reader.identifier()
        action = ValidateConstraint(name.name) if name is not None else None
    elif reader.words("ADD", "CHECK"):
        action = _check(reader)
    elif reader.words("ADD", "CONSTRAINT"):
        action = _using_index(reader)
    elif reader.words("DETACH", "PARTITION"):
        action = _detach(reader)
    elif reader.words("ATTACH", "PARTITION"):
        partition = reader.name()
        bound = reader.words("FOR", "VALUES") or reader.words("DEFAULT")
        action = AttachPartition(partition) if partition is not None and bound else None
        reader.rest()  # the bound's values have no bearing on the risk
    return action if reader.at_end() else None


def _check(reader: _Reader) -> AddCheck | None:
    """``(condition) [NO INHERIT] [NOT VALID]``, after an unnamed ``ADD CHECK``."""
    if not reader.parenthesised():
        return None
    reader.words("NO", "INHERIT")
    return AddCheck(not_valid=reader.words("NOT", "VALID"))


#: What may follow ``USING INDEX i``: no bearing on the risk.
_DEFERRAL = frozenset({"DEFERRABLE", "NOT", "INITIALLY", "DEFERRED", "IMMEDIATE"})


def _using_index(reader: _Reader) -> AddConstraintUsingIndex | None:
    """``name UNIQUE | PRIMARY KEY USING INDEX index``, after ``ADD CONSTRAINT``."""
    name = reader.identifier()
    kind = "UNIQUE" if reader.words("UNIQUE") else ""
    if not kind and reader.words("PRIMARY", "KEY"):
        kind = "PRIMARY KEY"
    if name is None or not kind or not reader.words("USING", "INDEX"):
        return None
    index = reader.identifier()
    if index is None or not set(reader.rest()) <= _DEFERRAL:
        return None
    return AddConstraintUsingIndex(name.name, kind, index.name)


def _detach(reader: _Reader) -> DetachPartition | None:
    partition = reader.name()
    if partition is None:
        return None
    option = reader.one_of("CONCURRENTLY", "FINALIZE")
    return DetachPartition(partition, option == "CONCURRENTLY", option == "FINALIZE")


def _alter_type(reader: _Reader) -> AddEnumValue | None:
    """``t ADD VALUE [IF NOT EXISTS] 'v' [BEFORE | AFTER 'w']``, after ``ALTER TYPE``."""
    enum = reader.name()
    if enum is None or not reader.words("ADD", "VALUE"):
        return None
    if_not_exists = reader.words("IF", "NOT", "EXISTS")
    value = reader.string()
    if reader.one_of("BEFORE", "AFTER") and reader.string() is None:
        return None
    if value is None or not reader.at_end():
        return None
    return AddEnumValue(enum, value, if_not_exists)


#: ``ALTER DOMAIN`` actions, by their leading words.
_DOMAIN_ACTIONS = (
    ("SET", "NOT", "NULL"),
    ("DROP", "NOT", "NULL"),
    ("SET", "DEFAULT"),
    ("DROP", "DEFAULT"),
    ("VALIDATE", "CONSTRAINT"),
    ("DROP", "CONSTRAINT"),
    ("RENAME", "CONSTRAINT"),
    ("ADD",),
    ("RENAME", "TO"),
    ("OWNER", "TO"),
    ("SET", "SCHEMA"),
)


def _alter_domain(reader: _Reader) -> AlterDomain | None:
    """``d <action> ...``, after ``ALTER DOMAIN``: the action by its leading words."""
    domain = reader.name()
    action = next((words for words in _DOMAIN_ACTIONS if reader.words(*words)), None)
    if domain is None or action is None:
        return None
    not_valid = reader.rest()[-2:] == ["NOT", "VALID"]
    title = "ADD CONSTRAINT" if action == ("ADD",) else " ".join(action)
    return AlterDomain(domain, title, not_valid)


def _cluster(reader: _Reader) -> Cluster | None:
    """``[VERBOSE] [table [USING index]]``, and the old ``index ON table``, after CLUSTER."""
    reader.words("VERBOSE")
    if reader.at_end():
        return Cluster()
    table = reader.name()
    index = None
    if reader.words("USING"):
        index = reader.name()
        if index is None:
            return None
    elif reader.words("ON"):
        index, table = table, reader.name()
    if table is None or not reader.at_end():
        return None
    return Cluster(table, index)


def _drop_indexes(reader: _Reader) -> exp.Drop | None:
    """``[IF EXISTS] a, b, ... [CASCADE | RESTRICT]``: several indexes, which sqlglot cannot
    parse (one it can). ``CONCURRENTLY`` is left to sqlglot: PostgreSQL refuses it with more
    than one index, and the statement is reported as unparsed."""
    exists = reader.words("IF", "EXISTS")
    names = []
    for part in reader.actions():
        name = part.name()
        option = part.one_of("CASCADE", "RESTRICT")
        if name is None or not part.at_end():
            return None
        names.append((name, option))
    if len(names) < 2 or any(option for _, option in names[:-1]):
        return None
    option = names[-1][1]
    return exp.Drop(
        kind="INDEX",
        tables=[name for name, _ in names],
        exists=exists,
        cascade=option == "CASCADE",
        restrict=option == "RESTRICT",
        concurrently=False,
    )


#: Each statement :func:`recognise` reads, by its first words.
_READERS: tuple[tuple[tuple[str, ...], Callable[[_Reader], Recognised | exp.Drop | None]], ...] = (
    (("CLUSTER",), _cluster),
    (("ALTER", "TABLE"), _alter_table),
    (("ALTER", "TYPE"), _alter_type),
    (("ALTER", "DOMAIN"), _alter_domain),
    (("DROP", "INDEX"), _drop_indexes),
)
_FIRST_WORDS = frozenset(words[0] for words, _ in _READERS)
