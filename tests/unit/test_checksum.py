"""checksum: SHA-256 with line endings normalised, so a CRLF checkout is not "modified"."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.checksum import checksum


def test_checksum_is_sha256_hex_of_lf_text() -> None:
    data = b"CREATE TABLE t (id INT);\n"

    assert checksum(data) == hashlib.sha256(data).hexdigest()
    assert len(checksum(b"")) == 64


def test_crlf_and_lone_cr_match_lf() -> None:
    lf = b"-- migrate:up\nCREATE TABLE t (id INT);\n-- migrate:down\nDROP TABLE t;\n"

    assert checksum(lf.replace(b"\n", b"\r\n")) == checksum(lf)
    assert checksum(lf.replace(b"\n", b"\r")) == checksum(lf)
    assert checksum(b"a\r\nb\rc\n") == checksum(b"a\nb\nc\n")


def test_real_changes_change_the_checksum() -> None:
    base = checksum(b"CREATE TABLE t (id INT);\n")

    assert checksum(b"CREATE TABLE t (id BIGINT);\n") != base
    assert checksum(b"CREATE TABLE t (id INT);\n\n") != base
    assert checksum(b"CREATE TABLE t (id INT); \n") != base


def test_crlf_is_one_line_break_not_two() -> None:
    assert checksum(b"a\r\nb") != checksum(b"a\n\nb")
    assert checksum(b"a\r\rb") == checksum(b"a\n\nb")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200).map(lambda b: b.replace(b"\r", b"")))
def test_replacing_lf_with_crlf_keeps_the_checksum(data: bytes) -> None:
    assert checksum(data.replace(b"\n", b"\r\n")) == checksum(data)
    assert checksum(data.replace(b"\n", b"\r")) == checksum(data)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=120))
def test_any_text_with_crlf_matches_its_lf_form(text: str) -> None:
    lf = text.replace("\r\n", "\n").replace("\r", "\n")

    assert checksum(text.encode()) == checksum(lf.encode())
    assert checksum(lf.replace("\n", "\r\n").encode()) == checksum(lf.encode())
