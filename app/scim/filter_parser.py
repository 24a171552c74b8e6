"""Filter and PATCH-path syntax: text to AST and back (RFC 7644 §3.4.2.2, §3.5.2).

Pure syntax: attribute names keep the spelling they were written with; `bind_filter` maps them
to a schema. Keywords, operators and `true`/`false`/`null` are case-insensitive, operators are
stored lower case. Error positions are 0-based character offsets into the text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NamedTuple

from app.scim.ast import (
    COMPARE_OPS,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    Value,
    ValuePath,
)
from app.scim.errors import ScimError, invalid_filter, invalid_path
from app.scim.text_rules import NUL_RULE

MAX_LENGTH = 4096
MAX_DEPTH = 64

_WHITESPACE = frozenset(" \t\r\n")
_PUNCTUATION = frozenset("()[]")
_WORD_END = _WHITESPACE | _PUNCTUATION | {'"'}
_NAME = re.compile(r"\$?[A-Za-z][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_CONTROL = re.compile(r"[\x00-\x1f]")  # not allowed unescaped in a JSON string
_KEYWORD_VALUES = {"true": True, "false": False, "null": None}
_SNIPPET = 30


class _Token(NamedTuple):
    kind: str  # "word", "string", "(", ")", "[", "]" or "end"
    text: str
    start: int
    value: Value = None  # the decoded literal of a "string" token

    @property
    def end(self) -> int:
        return self.start + len(self.text)


_TOKEN = re.compile(
    r'[ \t\r\n]*(?:([()\[\]])|("(?:[^"\\]|\\.)*")|([^ \t\r\n()\[\]"]+)|(")|\Z)', re.DOTALL
)


def _tokenize(text: str, error: Callable[[str], ScimError]) -> list[_Token]:
    """Words run until whitespace, a bracket, a parenthesis or a quote; the parser decides
    whether a word is a path, an operator, a keyword or a number. One regular expression
    finds each token (a character-by-character loop cost more than the rest of a search)."""
    tokens: list[_Token] = []
    position, length = 0, len(text)
    match_at = _TOKEN.match
    while True:
        match = match_at(text, position)
        punctuation, string, word, lone_quote = match.groups()
        start = match.start(match.lastindex) if match.lastindex else match.end()
        if punctuation:
            tokens.append(_Token(punctuation, punctuation, start))
        elif string:
            tokens.append(_string_token(string, start, error))
        elif word:
            tokens.append(_Token("word", word, start))
        elif lone_quote:
            raise error(f"unterminated string starting at position {start}")
        else:
            break
        position = match.end()
    tokens.append(_Token("end", "", length))
    return tokens


def _string_token(raw: str, start: int, error: Callable[[str], ScimError]) -> _Token:
    """A JSON string literal (RFC 8259 §7), escapes included, quotes and all in `raw`."""
    try:
        inner = raw[1:-1]
        # Most literals hold no escape and no control character: their text is their value.
        value = json.loads(raw) if "\\" in inner or _CONTROL.search(inner) else inner
        value.encode("utf-8")
    except ValueError:
        raise error(f"invalid string literal {_snippet(raw)} at position {start}") from None
    if "\x00" in value:
        raise error(f"the string literal at position {start} holds a NUL character ({NUL_RULE})")
    return _Token("string", raw, start, value)


def _snippet(text: str) -> str:
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def split_attr_path(text: str) -> AttrPath | None:
    """`attr`, `attr.sub` or `urn:…:attr[.sub]` (split at the last ':'); None if malformed."""
    uri, rest = None, text
    if text[:4].lower() == "urn:":
        uri, _, rest = text.rpartition(":")
        if len(uri) <= len("urn:"):
            return None
    name, dot, sub = rest.partition(".")
    if not _NAME.fullmatch(name) or (dot and not _NAME.fullmatch(sub)):
        return None
    return AttrPath(uri, name, sub if dot else None)


class _Parser:
    """Recursive descent over the RFC 7644 §3.4.2.2 grammar with precedence not > and > or."""

    def __init__(self, text: str, max_depth: int, error: Callable[[str], ScimError]):
        self.error = error
        self.tokens = _tokenize(text, error)
        self.index = 0
        self.max_depth = max_depth
        self.depth = 0
        self.in_brackets = False

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def keyword(self) -> str | None:
        token = self.peek()
        return token.text.lower() if token.kind == "word" else None

    def fail(self, message: str, token: _Token) -> ScimError:
        if token.kind == "end":
            return self.error(f"{message} at position {token.start} (end of input)")
        found = token.text if token.kind == "string" else f'"{token.text}"'
        return self.error(f"{message} at position {token.start}, found {_snippet(found)}")

    def expect(self, kind: str, message: str) -> _Token:
        token = self.peek()
        if token.kind != kind:
            raise self.fail(message, token)
        return self.advance()

    @contextmanager
    def nested(self, token: _Token) -> Iterator[None]:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.error(
                f"nesting deeper than {self.max_depth} levels at position {token.start}"
            )
        yield
        self.depth -= 1

    def disjunction(self) -> Filter:
        result = self.conjunction()
        while self.keyword() == "or":
            self.advance()
            result = Or(result, self.conjunction())
        return result

    def conjunction(self) -> Filter:
        result = self.factor()
        while self.keyword() == "and":
            self.advance()
            result = And(result, self.factor())
        return result

    def factor(self) -> Filter:
        token = self.peek()
        if token.kind == "(":
            self.advance()
            with self.nested(token):
                inner = self.disjunction()
            self.expect(")", f'"(" at position {token.start} is not closed: expected ")"')
            return inner
        if self.keyword() == "not":
            self.advance()
            opening = self.expect("(", 'expected "(" after "not"')
            with self.nested(token), self.nested(opening):
                inner = self.disjunction()
            self.expect(")", f'"(" at position {opening.start} is not closed: expected ")"')
            return Not(inner)
        if token.kind == "word" and self.keyword() not in ("and", "or"):
            return self.attribute_expression()
        raise self.fail('expected an attribute name, "not" or "("', token)

    def attribute_path(self) -> tuple[AttrPath, _Token]:
        token = self.expect("word", "expected an attribute name")
        if self.in_brackets:
            if not _NAME.fullmatch(token.text):
                raise self.fail('expected a sub-attribute name inside "[...]"', token)
            return AttrPath(None, token.text), token
        path = split_attr_path(token.text)
        if path is None:
            raise self.error(
                f'invalid attribute path "{_snippet(token.text)}" at position {token.start}'
            )
        return path, token

    def attribute_expression(self) -> Filter:
        path, token = self.attribute_path()
        if self.peek().kind == "[":
            element_filter, close = self.bracketed(path)
            sub = self.trailing_sub(close)
            if sub is not None:
                condition = self.condition(AttrPath(None, sub.text[1:]), sub)
                element_filter = And(element_filter, condition)
            return ValuePath(path, element_filter)
        return self.condition(path, token)

    def condition(self, path: AttrPath, after: _Token) -> Filter:
        token = self.peek()
        operator = self.keyword()
        if operator == "pr":
            self.advance()
            return Present(path)
        if operator in COMPARE_OPS:
            self.advance()
            return Compare(path, operator, self.value(token))
        raise self.fail(f'expected an operator after "{_snippet(after.text)}"', token)

    def value(self, operator: _Token) -> Value:
        token = self.advance()
        if token.kind == "string":
            return token.value
        if token.kind == "word":
            lowered = token.text.lower()
            if lowered in _KEYWORD_VALUES:
                return _KEYWORD_VALUES[lowered]
            number = _number(token.text)
            if number is not None:
                return number
        raise self.fail(
            f'expected a value (a JSON string, number, true, false or null) after "{operator.text}"',
            token,
        )

    def bracketed(self, path: AttrPath) -> tuple[Filter, _Token]:
        opening = self.peek()
        if self.in_brackets:
            raise self.fail('a "[...]" filter cannot be nested inside another', opening)
        if path.sub is not None:
            raise self.fail(
                f'"{path}" is a sub-attribute and cannot take a "[...]" filter', opening
            )
        self.advance()
        self.in_brackets = True
        with self.nested(opening):
            element_filter = self.disjunction()
        self.in_brackets = False
        close = self.expect("]", f'"[" at position {opening.start} is not closed: expected "]"')
        return element_filter, close

    def trailing_sub(self, close: _Token) -> _Token | None:
        """`emails[type eq "work"].value`: a sub-attribute written right after the `]`."""
        token = self.peek()
        if token.kind != "word" or token.start != close.end or not token.text.startswith("."):
            return None
        if not _NAME.fullmatch(token.text[1:]):
            raise self.fail('invalid sub-attribute after "]"', token)
        return self.advance()


def _number(text: str) -> int | float | None:
    """A JSON number (RFC 8259 §6); None when malformed or too large to represent."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    try:
        number = float(text) if match[1] or match[2] else int(text)
    except ValueError:
        return None
    return None if isinstance(number, float) and math.isinf(number) else number


def _check_text(
    text: object, what: str, max_length: int, error: Callable[[str], ScimError]
) -> None:
    if not isinstance(text, str):
        raise error(f"the {what} must be text")
    if len(text) > max_length:
        raise error(f"the {what} is longer than {max_length} characters")


def parse_filter(text: str, *, max_length: int = MAX_LENGTH, max_depth: int = MAX_DEPTH) -> Filter:
    """Parse a `filter` query parameter (RFC 7644 §3.4.2.2) into an unbound AST.

    Any malformed input, including text over `max_length` characters or nesting (parentheses,
    `not`, `[...]`) deeper than `max_depth`, raises ScimError 400 invalidFilter.
    """
    check_filter_text(text, max_length)
    simple = simple_comparison(text)
    if simple is not None:
        name, sub, operator, value = simple
        return Compare(AttrPath(None, name, sub), operator, value)
    return parse_in_full(text, max_depth)


def check_filter_text(text: object, max_length: int = MAX_LENGTH) -> None:
    _check_text(text, "filter", max_length, invalid_filter)


# `userName eq "alice@example.com"`: the shape of nearly every IdP match, one attribute compared
# with a string that holds no escape. Recognised whole by one expression; anything else (and
# anything this gets wrong: the tests compare both on generated filters) goes to the parser.
_SIMPLE_COMPARISON = re.compile(
    r"[ \t\r\n]*(\$?[A-Za-z][A-Za-z0-9_-]*)(?:\.(\$?[A-Za-z][A-Za-z0-9_-]*))?"
    r'[ \t\r\n]+([A-Za-z]{2})[ \t\r\n]+"([^"\\\x00-\x1f]*)"[ \t\r\n]*'
)
_NOT_ATTRIBUTES = frozenset(("and", "or", "not"))


def simple_comparison(text: str) -> tuple[str, str | None, str, str] | None:
    """(attribute, sub-attribute, operator in lower case, text) of a filter that is one
    comparison with text holding no escape, as written; None for anything else."""
    match = _SIMPLE_COMPARISON.fullmatch(text)
    if match is None:
        return None
    name, sub, operator, value = match.groups()
    operator = operator.lower()
    if operator not in COMPARE_OPS or name.lower() in _NOT_ATTRIBUTES:
        return None
    try:
        value.encode("utf-8")  # a lone surrogate: the parser words the error
    except UnicodeEncodeError:
        return None
    return name, sub, operator, value


def parse_in_full(text: str, max_depth: int = MAX_DEPTH) -> Filter:
    parser = _Parser(text, max_depth, invalid_filter)
    try:
        result = parser.disjunction()
    except RecursionError:
        raise invalid_filter("filter is nested too deeply") from None
    parser.expect("end", 'expected "and", "or" or the end of the filter')
    return result


def parse_patch_path(text: str) -> PatchPath:
    """Parse a PATCH `path` (RFC 7644 §3.5.2): `attrPath` or `valuePath [subAttr]`.

    Malformed input, inside the `[...]` filter too, raises ScimError 400 invalidPath.
    """
    _check_text(text, "path", MAX_LENGTH, invalid_path)
    parser = _Parser(text, MAX_DEPTH, invalid_path)
    attr, _ = parser.attribute_path()
    value_filter, sub = None, None
    if parser.peek().kind == "[":
        try:
            value_filter, close = parser.bracketed(attr)
        except RecursionError:
            raise invalid_path("path is nested too deeply") from None
        trailing = parser.trailing_sub(close)
        sub = trailing.text[1:] if trailing else None
    parser.expect("end", "expected the end of the path")
    return PatchPath(attr, value_filter, sub)


def chain_operands(node: And | Or) -> list[Filter]:
    """The operands of a left-associative chain `a and b and c` (same node class only on the
    left spine), leftmost first, without recursion: chains as long as `max_length` allows
    would exceed Python's recursion limit if walked recursively."""
    kind = type(node)
    rights: list[Filter] = []
    current: Filter = node
    while isinstance(current, kind):
        rights.append(current.right)
        current = current.left
    return [current, *reversed(rights)]


_OR, _AND, _PRIMARY = 1, 2, 3


def format_filter(f: Filter) -> str:
    """Print a filter so that `parse_filter(format_filter(f)) == f` for every parsed `f`:
    parentheses wherever precedence or the tree shape needs them, JSON-encoded strings, URNs
    kept. A bound filter prints its dateTime values as RFC 3339 strings."""
    return _format(f, _OR)


def _format(node: Filter, context: int) -> str:
    if isinstance(node, And | Or):
        precedence, joiner = (_AND, " and ") if isinstance(node, And) else (_OR, " or ")
        first, *rest = chain_operands(node)
        text = joiner.join(
            [_format(first, precedence), *(_format(right, precedence + 1) for right in rest)]
        )
        return text if precedence >= context else f"({text})"
    if isinstance(node, Not):
        return f"not ({_format(node.expr, _OR)})"
    if isinstance(node, ValuePath):
        return f"{node.path}[{_format(node.filter, _OR)}]"
    if isinstance(node, Present):
        return f"{node.path} pr"
    if isinstance(node, Compare):
        return f"{node.path} {node.op} {format_value(node.value)}"
    raise invalid_filter(f"not a filter node: {type(node).__name__}")


def format_patch_path(path: PatchPath) -> str:
    """Print a PATCH path so that `parse_patch_path(format_patch_path(p)) == p` (RFC 7644
    §3.5.2): `attr[.sub]`, or `attr[filter][.sub]` for a value path."""
    text = str(path.attr)
    if path.value_filter is not None:
        text += f"[{_format(path.value_filter, _OR)}]"
    if path.sub:
        text += f".{path.sub}"
    return text


def format_value(value: object) -> str:
    """A compare value as a filter literal (JSON)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(value, ensure_ascii=False, default=str)
