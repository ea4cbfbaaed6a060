"""The value grammar of stored-query parameters (ITI TF-2 3.18.4.1.2.3.5).

A parameter is one rim:Slot whose rim:Value texts are read together:

- a string is single-quoted, a quote inside it doubled: ``'O''Brien'``;
- a list is parenthesised and comma-separated: ``('a', 'b')``; a list may be split across
  several rim:Value elements, either as one list cut anywhere between items
  (``('a',`` then ``'b')``) or as several lists (``('a')`` then ``('b')``);
- a number (a time, $MetadataLevel) is unquoted: ``20040101``;
- a code is the string ``code^^scheme``.

Whitespace outside quotes is insignificant. A string never spans two rim:Value elements.
The functions here take the ordered texts of one slot and raise `MalformedValue` (the
message is completed with the parameter name by the caller) or `SeveralValues` when a
single value was expected and more came.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ebrim.model import Code


class MalformedValue(Exception):
    """The text does not follow the value grammar (XDSRegistryError)."""


class SeveralValues(Exception):
    """A single-valued parameter carries several values (XDSStoredQueryParamNumber)."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", ",", "str" (quoted), "bare" (unquoted run)
    text: str = ""


_PUNCTUATION = "(),"
_BARE_END = re.compile(r"[\s(),']")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in _PUNCTUATION:
            tokens.append(_Token(char))
            i += 1
        elif char == "'":
            i = _read_string(text, i + 1, tokens)
        else:
            match = _BARE_END.search(text, i)
            end = match.start() if match else n
            tokens.append(_Token("bare", text[i:end]))
            i = end
    return tokens


def _read_string(text: str, i: int, tokens: list[_Token]) -> int:
    """Read a quoted string whose opening quote precedes `i`; return the index after it."""
    parts: list[str] = []
    while True:
        end = text.find("'", i)
        if end < 0:
            raise MalformedValue(f"unterminated quoted string in {_shorten(text)}")
        parts.append(text[i:end])
        if text.startswith("''", end):
            parts.append("'")
            i = end + 2
            continue
        tokens.append(_Token("str", "".join(parts)))
        return end + 1


def _shorten(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _nonempty(values: Sequence[str]) -> list[str]:
    return [v for v in values if v.strip()]


def _one_text(values: Sequence[str]) -> list[str]:
    texts = _nonempty(values)
    if not texts:
        raise MalformedValue("empty value")
    if len(texts) > 1:
        raise SeveralValues(f"{len(texts)} values where one is allowed")
    return texts


def single_string(values: Sequence[str]) -> str:
    """The one quoted string of a single-valued parameter: ``'x'`` gives ``x``."""
    texts = _one_text(values)
    tokens = _tokenize(texts[0])
    if len(tokens) == 1 and tokens[0].kind == "str":
        return tokens[0].text
    if tokens and tokens[0].kind == "(":
        items = _list_items(tokens, texts[0])
        if len(items) > 1:
            raise SeveralValues(f"a list of {len(items)} values where one is allowed")
        raise MalformedValue(f"expects one quoted value, not a list: {_shorten(texts[0])}")
    if len(tokens) == 1 and tokens[0].kind == "bare":
        raise MalformedValue(f"the value must be single-quoted: {_shorten(texts[0])}")
    raise MalformedValue(f"expects one single-quoted value: {_shorten(texts[0])}")


def string_list(values: Sequence[str]) -> tuple[str, ...]:
    """The items of a list parameter, read across all its rim:Value elements in order."""
    tokens = [token for text in _nonempty(values) for token in _tokenize(text)]
    return tuple(_list_items(tokens, " ".join(values)))


def _list_items(tokens: list[_Token], source: str) -> list[str]:
    """Items of one or more parenthesised lists: ``('a','b')`` or ``('a')('b')``."""
    items: list[str] = []
    i, n = 0, len(tokens)
    if n == 0:
        raise MalformedValue("empty value")
    while i < n:
        if tokens[i].kind != "(":
            raise MalformedValue(f"a list must be written ('a','b'): {_shorten(source)}")
        i += 1
        if i < n and tokens[i].kind == ")":
            raise MalformedValue("empty list ()")
        while True:
            if i >= n:
                raise MalformedValue(f"unclosed list: {_shorten(source)}")
            token = tokens[i]
            if token.kind == "bare":
                raise MalformedValue(f"list item {token.text!r} must be single-quoted")
            if token.kind != "str":
                raise MalformedValue(f"list item missing in {_shorten(source)}")
            items.append(token.text)
            i += 1
            if i < n and tokens[i].kind == ",":
                i += 1
                continue
            if i < n and tokens[i].kind == ")":
                i += 1
                break
            raise MalformedValue(f"expected ',' or ')' after {token.text!r}")
    return items


def number(values: Sequence[str]) -> str:
    """The digits of a number parameter, unquoted (or quoted, tolerated since CP-ITI-1260)."""
    texts = _one_text(values)
    tokens = _tokenize(texts[0])
    if len(tokens) != 1 or tokens[0].kind not in ("bare", "str"):
        if tokens and tokens[0].kind == "(":
            items = _list_items(tokens, texts[0])
            if len(items) > 1:
                raise SeveralValues(f"a list of {len(items)} values where one is allowed")
        raise MalformedValue(f"expects one number: {_shorten(texts[0])}")
    digits = tokens[0].text
    if not (digits.isascii() and digits.isdigit()):
        raise MalformedValue(f"not a number: {_shorten(digits)}")
    return digits


_DTM_LENGTHS = (4, 6, 8, 10, 12, 14)
# (slice, lowest, highest) of month, day, hour, minute, second.
_DTM_FIELDS = (
    (slice(4, 6), 1, 12),
    (slice(6, 8), 1, 31),
    (slice(8, 10), 0, 23),
    (slice(10, 12), 0, 59),
    (slice(12, 14), 0, 59),
)


def dtm(values: Sequence[str]) -> str:
    """A time parameter: an HL7 DTM of 4 to 14 digits (YYYY[MM[DD[hh[mm[ss]]]]]), UTC."""
    digits = number(values)
    if len(digits) not in _DTM_LENGTHS:
        raise MalformedValue(f"time {digits!r} is not YYYY[MM[DD[hh[mm[ss]]]]]")
    for where, low, high in _DTM_FIELDS:
        part = digits[where]
        if part and not low <= int(part) <= high:
            raise MalformedValue(f"time {digits!r} has an impossible date or time")
    return digits


def code(text: str) -> Code:
    """A ``code^^scheme`` item as a `Code` (the display name is not part of a query)."""
    parts = text.split("^")
    if len(parts) != 3 or parts[1] or not parts[0].strip() or not parts[2].strip():
        raise MalformedValue(f"code {_shorten(text)} is not written code^^scheme")
    return Code(code=parts[0], scheme=parts[2])


def quote(text: str) -> str:
    """A string written as a parameter value: ``O'Brien`` gives ``'O''Brien'``."""
    return "'" + text.replace("'", "''") + "'"


def format_list(items: Sequence[str]) -> str:
    """A list written as one parameter value: ``('a','b')``."""
    return "(" + ",".join(quote(item) for item in items) + ")"


def format_code(value: Code) -> str:
    return f"{value.code}^^{value.scheme}"
