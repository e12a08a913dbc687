"""A todo's ETag is its version as a strong tag; If-Match compares strongly."""

from __future__ import annotations

import pytest

from todos_service.etags import etag, parse_if_match


def test_the_etag_is_the_quoted_version() -> None:
    assert etag(1) == '"1"'
    assert etag(42) == '"42"'


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        (None, None),
        ("*", None),
        ('"3", *', None),
        ('"3"', {3}),
        (' "3" , "12"', {3, 12}),
        ('W/"3"', set()),
        ('"03"', set()),
        ('"-1"', set()),
        ('"3', set()),
        ("3", set()),
        ('""', set()),
        ('"' + "9" * 40 + '"', set()),
        ("", set()),
    ],
)
def test_if_match_names_the_versions_it_accepts(
    header: str | None, versions: set[int] | None
) -> None:
    assert parse_if_match(header) == versions
