"""List and search requests (RFC 7644 §3.4.2, §3.4.3): the query, validated and bound.

The same `ListQuery` comes from a GET query string or a POST `.search` body, so both paths
share every rule: startIndex below 1 counts as 1, a negative count as 0, a count above the
server's maximum is cut to it (RFC 7644 §3.4.2.4), and anything unparseable is a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from attrs import frozen

from app.scim.ast import AttrPath, Filter
from app.scim.codec import parse_attribute_list
from app.scim.errors import ScimError, invalid_value
from app.scim.filter import parse_bound_filter
from app.scim.filter_parser import simple_comparison, split_attr_path
from app.scim.schema_model import ResourceType

SEARCH_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@frozen
class PageLimits:
    default_count: int = 100
    max_count: int = 1000
    max_filter_length: int = 4096
    max_filter_depth: int = 64


class ListQuery(NamedTuple):
    """A list or search request bound to a resource type. A NamedTuple, as `RawListQuery`:
    one is built on every list request, and a frozen attrs class costs ~2 µs to build."""

    filter: Filter | None = None
    start_index: int = 1
    count: int = 100
    sort_by: AttrPath | None = None
    descending: bool = False
    attributes: tuple[AttrPath, ...] = ()
    excluded: tuple[AttrPath, ...] = ()

    @property
    def offset(self) -> int:
        return self.start_index - 1


class RawListQuery(NamedTuple):
    """The parameters as received, before binding to a resource type (root `.search`
    binds the same request to several types)."""

    filter: str | None = None
    start_index: int = 1
    count: int | None = None
    sort_by: str | None = None
    descending: bool = False
    attributes: object = None
    excluded: object = None


def _integer(name: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise invalid_value(f"{name} must be an integer")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("+-").isdigit() and len(raw) < 19:
        return int(raw)
    raise invalid_value(f"{name} must be an integer, not {str(raw)[:40]!r}")


def _sort_order(raw: object) -> bool:
    if raw is None:
        return False
    if isinstance(raw, str) and raw.lower() in ("ascending", "descending"):
        return raw.lower() == "descending"
    raise invalid_value('sortOrder must be "ascending" or "descending"')


def _text(name: str, raw: object) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    raise invalid_value(f"{name} must be a string")


def read_query_params(params: Mapping[str, str]) -> RawListQuery:
    """From a query string: parameter names are case-insensitive (RFC 7644 §3.4.2)."""
    if len(params) == 1 and "filter" in params:  # an IdP's match: nothing else to read
        return RawListQuery(params["filter"])
    lowered = {key.lower(): value for key, value in params.items()}
    return _raw(lowered)


def read_search_body(body: object) -> RawListQuery:
    """From a POST `.search` body (RFC 7644 §3.4.3)."""
    if not isinstance(body, dict):
        raise ScimError(400, "a search request must be a JSON object", "invalidSyntax")
    lowered = {key.lower(): value for key, value in body.items() if isinstance(key, str)}
    schemas = lowered.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list)
        or SEARCH_REQUEST_URN.lower() not in [str(s).lower() for s in schemas]
    ):
        raise ScimError(400, f"schemas must contain {SEARCH_REQUEST_URN}", "invalidSyntax")
    return _raw(lowered)


def _raw(values: Mapping[str, object]) -> RawListQuery:
    start = values.get("startindex")
    count = values.get("count")
    return RawListQuery(
        filter=_text("filter", values.get("filter")),
        start_index=max(1, _integer("startIndex", start)) if start not in (None, "") else 1,
        count=max(0, _integer("count", count)) if count not in (None, "") else None,
        sort_by=_text("sortBy", values.get("sortby")) or None,
        descending=_sort_order(values.get("sortorder") or None),
        attributes=values.get("attributes"),
        excluded=values.get("excludedattributes"),
    )


def match_shape(raw: RawListQuery, limits: PageLimits) -> tuple | None:
    """An IdP's match, the commonest list request, as (attribute, sub-attribute, operator,
    text, page size) as written: the first page of one attribute compared with text holding
    no escape, with nothing else asked (no sort, no attribute lists). None for any other
    request (`bind_query` binds those, and words the error of a filter that is too long)."""
    text = raw.filter
    if (
        not text
        or len(text) > limits.max_filter_length
        or raw.start_index != 1
        or raw.sort_by
        or raw.descending
        or raw.attributes is not None
        or raw.excluded is not None
    ):
        return None
    count = _page_size(raw, limits)
    if count <= 0:
        return None
    simple = simple_comparison(text)
    return None if simple is None else (*simple, count)


def _page_size(raw: RawListQuery, limits: PageLimits) -> int:
    """`count` as asked, cut to the server's maximum; the default when not asked."""
    return limits.default_count if raw.count is None else min(raw.count, limits.max_count)


def bind_query(raw: RawListQuery, rt: ResourceType, limits: PageLimits) -> ListQuery:
    """Parse and bind the filter, attribute lists and sort key for one resource type."""
    bound_filter = None
    if raw.filter is not None and raw.filter.strip():
        bound_filter = parse_bound_filter(
            raw.filter, rt, max_length=limits.max_filter_length, max_depth=limits.max_filter_depth
        )
    sort_by = None
    if raw.sort_by:
        sort_by = split_attr_path(raw.sort_by)
        if sort_by is None:
            raise invalid_value(f"sortBy {raw.sort_by[:80]!r} is not an attribute name")
    return ListQuery(  # by position: keywords make a NamedTuple take about twice as long
        bound_filter,
        raw.start_index,
        _page_size(raw, limits),
        sort_by,
        raw.descending,
        parse_attribute_list(raw.attributes, rt) if raw.attributes else (),
        parse_attribute_list(raw.excluded, rt) if raw.excluded else (),
    )
