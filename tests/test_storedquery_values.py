"""The value grammar of stored-query parameters (ITI TF-2 3.18.4.1.2.3.5)."""

from __future__ import annotations

import pytest

from ebrim.model import Code
from ebrim.storedquery import values as v


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'abc'", "abc"),
        ("  'abc'  ", "abc"),
        ("'O''Brien'", "O'Brien"),
        ("''''", "'"),
        ("'a b, (c)'", "a b, (c)"),
        ("'id^^^&1.2.3&ISO'", "id^^^&1.2.3&ISO"),
    ],
)
def test_single_string_reads_quoted_text(text: str, expected: str) -> None:
    assert v.single_string([text]) == expected


@pytest.mark.parametrize("text", ["abc", "'abc", "'a' 'b'", "'a',", "", "   "])
def test_single_string_rejects_malformed_text(text: str) -> None:
    with pytest.raises(v.MalformedValue):
        v.single_string([text])


def test_single_string_rejects_a_list_of_one() -> None:
    with pytest.raises(v.MalformedValue, match="not a list"):
        v.single_string(["('a')"])


def test_single_string_counts_a_list_of_several_as_several_values() -> None:
    with pytest.raises(v.SeveralValues):
        v.single_string(["('a','b')"])


def test_single_string_counts_several_value_elements_as_several_values() -> None:
    with pytest.raises(v.SeveralValues):
        v.single_string(["'a'", "'b'"])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["('a')"], ("a",)),
        (["('a','b')"], ("a", "b")),
        (["( 'a' , 'b' )"], ("a", "b")),
        (["('a,b', 'c)')"], ("a,b", "c)")),
        (["('it''s')"], ("it's",)),
        (["('a',", "'b')"], ("a", "b")),
        (["('a')", "('b')"], ("a", "b")),
        (["('a')('b','c')"], ("a", "b", "c")),
        (["('a',", "", "'b')"], ("a", "b")),
        (["('')"], ("",)),
    ],
)
def test_string_list_reads_lists_across_values(values: list[str], expected: tuple[str]) -> None:
    assert v.string_list(values) == expected


@pytest.mark.parametrize(
    "values",
    [
        ["()"],
        ["'a'"],
        ["(a)"],
        ["('a'"],
        ["('a' 'b')"],
        ["('a',)"],
        ["('a'),('b')"],
        ["('a')x"],
        ["(,'a')"],
        ["('a')", "'b'"],
        [""],
    ],
)
def test_string_list_rejects_bad_list_syntax(values: list[str]) -> None:
    with pytest.raises(v.MalformedValue):
        v.string_list(values)


def test_string_never_spans_two_values() -> None:
    with pytest.raises(v.MalformedValue, match="unterminated"):
        v.string_list(["('a", "b')"])


@pytest.mark.parametrize("text", ["2004", "200412", "20041225", "2004122523", "200412252300"])
def test_dtm_accepts_every_precision(text: str) -> None:
    assert v.dtm([text]) == text


def test_dtm_tolerates_a_quoted_time() -> None:
    assert v.dtm(["'20041225'"]) == "20041225"


@pytest.mark.parametrize(
    "text", ["2004-12-25", "20041", "200413", "20041232", "2004122524", "x2004", "('2004')", "20.4"]
)
def test_dtm_rejects_what_is_not_a_dtm(text: str) -> None:
    with pytest.raises(v.MalformedValue):
        v.dtm([text])


def test_dtm_counts_two_values_as_several() -> None:
    with pytest.raises(v.SeveralValues):
        v.dtm(["2004", "2005"])


def test_code_reads_code_and_scheme() -> None:
    assert v.code("34133-9^^2.16.840.1.113883.6.1") == Code("34133-9", "2.16.840.1.113883.6.1")


@pytest.mark.parametrize("text", ["34133-9", "a^b^c", "^^scheme", "code^^", "a^^b^c"])
def test_code_rejects_what_is_not_code_caret_caret_scheme(text: str) -> None:
    with pytest.raises(v.MalformedValue):
        v.code(text)


def test_quote_and_format_list_are_read_back() -> None:
    items = ["O'Brien", "a, b", "(x)", ""]
    assert v.string_list([v.format_list(items)]) == tuple(items)
    assert v.single_string([v.quote("it's")]) == "it's"


def test_huge_list_is_read_in_linear_time() -> None:
    items = [f"urn:uuid:{i:036d}" for i in range(20_000)]
    assert len(v.string_list([v.format_list(items)])) == 20_000
