"""Reading a list request's query string (app.scim.listing.read_query_params): a lone
`filter`, an IdP's match, is read by a shortcut that must give what the general reading gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict, MultiDictProxy

from app.scim.listing import RawListQuery, read_query_params


def _params(*pairs: tuple[str, str]) -> MultiDictProxy:
    return MultiDictProxy(MultiDict(pairs))


@given(st.text())
def test_a_lone_filter_reads_as_the_general_path_reads_it(text):
    shortcut = read_query_params(_params(("filter", text)))
    general = read_query_params(_params(("Filter", text)))  # names are case-insensitive
    assert shortcut == general == RawListQuery(filter=text)


def test_other_parameters_beside_the_filter_are_read():
    query = read_query_params(
        _params(("filter", 'userName eq "a"'), ("startIndex", "3"), ("count", "7"))
    )
    assert (query.filter, query.start_index, query.count) == ('userName eq "a"', 3, 7)
    assert read_query_params(_params(("count", "2"))) == RawListQuery(count=2)
