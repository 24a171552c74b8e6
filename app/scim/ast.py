"""The filter and PATCH-path syntax tree (RFC 7644 §3.4.2.2, §3.5.2).

Shared by the parser, the in-memory evaluator, the PATCH engine and the SQL compiler in
`storage/`. Nodes are frozen attrs classes so they can be compared and hashed in tests.
"""

from __future__ import annotations

from attrs import frozen

COMPARE_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")


@frozen(cache_hash=True)  # a dictionary key on every filtered request (the compilers' memos)
class AttrPath:
    """`[uri:]attr[.sub]`. After binding to a schema, `uri` is the canonical schema URN and
    `attr`/`sub` the canonical attribute names; inside a value filter (`emails[type eq "x"]`)
    paths are relative to the element, so `uri` is None and `attr` names a sub-attribute."""

    uri: str | None
    attr: str
    sub: str | None = None

    def __str__(self) -> str:
        text = f"{self.uri}:{self.attr}" if self.uri else self.attr
        return f"{text}.{self.sub}" if self.sub else text


Value = str | int | float | bool | None


@frozen
class Compare:
    path: AttrPath
    op: str  # one of COMPARE_OPS, lower case
    value: Value


@frozen
class Present:
    path: AttrPath


@frozen
class And:
    left: Filter
    right: Filter


@frozen
class Or:
    left: Filter
    right: Filter


@frozen
class Not:
    expr: Filter


@frozen
class ValuePath:
    """`emails[type eq "work"]`: some element of the multi-valued `path` matches `filter`,
    whose paths are relative to the element."""

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


@frozen
class PatchPath:
    """A PATCH `path`: `attr`, `attr.sub`, `urn:…:attr[.sub]`, or `attr[filter][.sub]`.

    `emails[type eq "work"].value` is PatchPath(AttrPath(None, "emails"), Compare(…), "value").
    """

    attr: AttrPath
    value_filter: Filter | None = None
    sub: str | None = None
