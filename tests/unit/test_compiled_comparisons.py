"""An IdP's match (`userName eq "…"`) is bound and compiled once per attribute and operator,
then reused with each request's text (app.scim.filter, storage.sql_filter). Whatever the
attribute, its spelling, the operator or the text, the reused answer must be the one the full
binder and compiler give: the same tree, the same SQL and parameters, the same error."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.scim import filter as scim_filter
from app.scim.ast import COMPARE_OPS, AttrPath, Compare
from app.scim.errors import ScimError
from app.scim.filter import bind_filter, parse_bound_filter
from app.scim.filter_parser import parse_in_full
from app.scim.schemas import GROUP_RESOURCE, USER_RESOURCE
from storage.postgres import PostgresDialect
from storage.sql_fields import TEAMS, USERS
from storage.sql_filter import FilterCompiler
from storage.sqlite import SqliteDialect

TYPES = {"User": (USER_RESOURCE, USERS), "Group": (GROUP_RESOURCE, TEAMS)}
DIALECTS = (SqliteDialect(), PostgresDialect())


def _paths(rt) -> list[tuple[str | None, str, str | None]]:
    """Every attribute and sub-attribute of a type, core ones also without their URN."""
    found = [(None, "schemas", None), (None, "meta", "resourceType"), (None, "nosuch", None)]
    for schema in (rt.schema, *rt.extensions):
        for attribute in (*schema.attributes, *rt.common_attributes):
            found.append((schema.id, attribute.name, None))
            if schema is rt.schema:
                found.append((None, attribute.name, None))
            for sub in attribute.sub_attributes:
                found.append((schema.id, attribute.name, sub.name))
                if schema is rt.schema:
                    found.append((None, attribute.name, sub.name))
    return found


def _spelling(draw_case: list[bool], name: str) -> str:
    return "".join(c.upper() if up else c.lower() for c, up in zip(name, draw_case, strict=False))


@st.composite
def comparisons(draw) -> tuple[str, AttrPath, str, str]:
    type_id = draw(st.sampled_from(sorted(TYPES)))
    uri, attr, sub = draw(st.sampled_from(_paths(TYPES[type_id][0])))
    cases = draw(st.lists(st.booleans(), min_size=40, max_size=40))
    attr = _spelling(cases, attr) + attr[40:]
    op = draw(st.sampled_from(COMPARE_OPS))
    text = draw(
        st.one_of(
            st.text(st.characters(exclude_characters='"\\', exclude_categories=("Cc", "Cs"))),
            st.sampled_from(["", "true", "False", "2026-01-01T00:00:00Z", "12", "ÄÖ", "%_\\"]),
        )
    )
    return type_id, AttrPath(uri, attr, sub), op, text


def _outcome(function, *args):
    try:
        return function(*args)
    except ScimError as error:
        return (error.status, error.scim_type, error.detail)


def _bound_in_full(node, rt):
    """The general binder, without the memo."""
    return scim_filter._bind(node, lambda leaf: scim_filter._bind_resource_leaf(leaf, rt))


@given(comparisons())
@example(("User", AttrPath(None, "userName"), "eq", "Alice@Example.com"))
@example(("User", AttrPath(None, "emails"), "eq", "a@b"))
@example(("User", AttrPath(None, "schemas"), "eq", USER_RESOURCE.schema.id))
@example(("User", AttrPath(None, "active"), "eq", "true"))
@example(("Group", AttrPath(None, "displayName"), "co", "50%_off"))
@settings(max_examples=1500)
def test_reused_bindings_and_compilations_equal_the_full_ones(case):
    type_id, path, op, text = case
    rt, table = TYPES[type_id]
    node = Compare(path, op, text)
    expected = _outcome(_bound_in_full, node, rt)
    for _ in range(2):  # the second time from the memo
        assert _outcome(bind_filter, node, rt) == expected
    if path.uri is None and path.attr.isascii() and path.attr.isalpha() and "\\" not in text:
        written = f'{path.attr}{"." + path.sub if path.sub else ""} {op} "{text}"'
        if not isinstance(expected, tuple):
            assert parse_in_full(written) == node
        for _ in range(2):
            assert _outcome(parse_bound_filter, written, rt) == expected
    if isinstance(expected, tuple):
        return
    for dialect in DIALECTS:
        compiler = FilterCompiler(rt, table, dialect)
        in_full = _outcome(compiler._node, expected, None)
        for _ in range(2):  # the second time from the compiled template
            assert _outcome(compiler.where, expected) == in_full


def test_the_common_matches_are_reused():
    """The shapes IdPs send are the ones that get templates (else nothing is saved)."""
    for dialect in DIALECTS:
        compiler = FilterCompiler(USER_RESOURCE, USERS, dialect)
        for attribute in ("userName", "externalId", "emails.value", "displayName", "id"):
            bound = parse_bound_filter(f'{attribute} eq "Someone@Example.com"', USER_RESOURCE)
            compiler.where(bound)
            assert compiler._templates[(bound.path, "eq")] is not None, attribute
