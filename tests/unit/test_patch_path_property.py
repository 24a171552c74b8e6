"""PATCH paths print and parse back to the same tree (RFC 7644 §3.5.2), for any path the
grammar allows; and any text either parses or is a 400 invalidPath."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.scim.ast import AttrPath, PatchPath
from app.scim.errors import ScimError
from app.scim.filter import format_patch_path, parse_patch_path
from tests.unit.test_filter import element_filters, names, uris

attribute_paths = st.builds(
    PatchPath, st.builds(AttrPath, st.none() | uris, names, st.none() | names)
)
value_paths = st.builds(
    PatchPath,
    st.builds(AttrPath, st.none() | uris, names),
    element_filters,
    st.none() | names,
)


@given(st.one_of(attribute_paths, value_paths))
@settings(max_examples=200)
def test_format_then_parse_gives_the_same_path(path):
    assert parse_patch_path(format_patch_path(path)) == path


@given(st.one_of(attribute_paths, value_paths))
@settings(max_examples=100)
def test_parse_then_format_is_stable(path):
    text = format_patch_path(path)
    assert format_patch_path(parse_patch_path(text)) == text


@given(st.one_of(attribute_paths, value_paths).map(format_patch_path), st.integers(0, 40))
@settings(max_examples=150)
def test_cut_paths_parse_or_are_invalid_path(text, cut):
    try:
        parse_patch_path(text[: max(1, len(text) - cut)])
    except ScimError as error:
        assert (error.status, error.scim_type) == (400, "invalidPath")


def test_examples():
    for text in (
        "title",
        "name.givenName",
        'emails[type eq "work"].value',
        'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        'addresses[type eq "work" and primary eq true].streetAddress',
    ):
        assert format_patch_path(parse_patch_path(text)) == text
