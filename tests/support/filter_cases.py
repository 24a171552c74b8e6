"""Users to search and filters to search them with, for the differential filter tests: each
filter's result through the server (compiled to SQL) must equal the pure evaluator
`app.scim.filter.matches` applied to the same documents (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.scim.errors import ScimError
from app.scim.filter import bind_filter, matches, parse_filter
from app.scim.schemas import USER_RESOURCE

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def seed_users(tag: str) -> list[dict]:
    """Users whose values exercise case rules, LIKE wildcards, quotes, backslashes, unicode,
    absent and multi-valued attributes. `tag` keeps user names unique per server."""
    users = [
        dict(
            userName="Alice.Smith@X.com",
            externalId="EXT-A",
            displayName="Alice Smith",
            name={"givenName": "Alice", "familyName": "Smith"},
            title="Engineer",
            userType="Employee",
            active=True,
            emails=[
                {"value": "alice@x.com", "type": "work", "primary": True},
                {"value": "alice@home.org", "type": "home"},
            ],
            ext={"department": "Research", "employeeNumber": "001", "manager": {"value": "mgr-1"}},
        ),
        dict(
            userName="bob@x.com",
            externalId="ext-a",
            displayName="Bob",
            title="engineer",
            active=False,
            nickName="bobby",
            emails=[{"value": "Bob@X.com", "type": "work"}],
            ext={"department": "research"},
        ),
        dict(
            userName="carol_100%@y.org",
            externalId="EXT-C",
            title="50% off_sale",
            nickName="back\\slash",
            emails=[{"value": "carol@y.org", "type": "home"}],
        ),
        dict(
            userName='dave"quote@x.com',
            externalId="ext-d",
            displayName="O'Brien",
            emails=[
                {"value": "dave@x.com", "type": "work", "primary": False},
                {"value": "dave@y.org", "type": "other", "primary": True},
            ],
            ext={"department": "Sales", "manager": {"value": "mgr-2"}},
        ),
        dict(
            userName="Zoë.Ünïcødé@ex.com",
            displayName="Zoë",
            title="Ärztin",
            name={"givenName": "Zoë", "familyName": "Åberg"},
            locale="de-CH",
            emails=[{"value": "zoe@ex.com", "type": "work"}],
            ext={"costCenter": "CC-9"},
        ),
        dict(
            userName="eve+tag@x.com",
            externalId="EXT-E",
            title="Engineer Lead",
            userType="Contractor",
            phoneNumbers=[{"value": "+1-555-0100", "type": "work"}],
        ),
        dict(
            userName="frank@z.net",
            nickName="100%",
            title="under_score",
            emails=[{"value": "frank@z.net"}],
        ),
        dict(
            userName="grace@x.com",
            displayName="Grace",
            active=True,
            roles=[{"value": "admin"}, {"value": "Reader"}],
            addresses=[{"locality": "Zürich", "country": "CH", "type": "work"}],
            ext={"organization": "ACME", "division": "R&D", "department": "Research"},
        ),
        dict(
            userName="heidi@x.com",
            title="engineer",
            active=False,
            emails=[{"value": "heidi@X.COM", "type": "WORK"}],
        ),
        dict(
            userName="ivan@Y.org",
            externalId="Ext-I",
            title="%",
            nickName="_",
            displayName="back\\slash\\name",
        ),
        dict(
            userName="judy@x.com",
            title="ΆΛΦΑ Ωmega",
            displayName="ǅemal",
            nickName="straße",
            emails=[{"value": "judy@x.com", "type": "work", "primary": True}],
        ),
        dict(userName="ken"),
    ]
    bodies = []
    for user in users:
        ext = user.pop("ext", None)
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], **user}
        body["userName"] = f"{tag}{user['userName']}"
        if ext:
            body["schemas"].append(ENTERPRISE)
            body[ENTERPRISE] = ext
        bodies.append(body)
    return bodies


HANDWRITTEN = [
    # every operator on strings, case-insensitive userName
    'userName eq "{tag}alice.smith@x.com"',
    'userName eq "{TAG}ALICE.SMITH@X.COM"',
    'userName ne "{tag}bob@x.com"',
    'userName co "SMITH"',
    'userName sw "{tag}b"',
    'userName ew "@X.COM"',
    "userName pr",
    'userName gt "{tag}frank"',
    'userName ge "{tag}frank@z.net"',
    'userName lt "{tag}c"',
    'userName le "{tag}carol_100%@y.org"',
    # caseExact: externalId and id
    'externalId eq "EXT-A"',
    'externalId eq "ext-a"',
    'externalId sw "EXT"',
    'externalId co "xt-"',
    'externalId gt "EXT-C"',
    "externalId pr",
    "not (externalId pr)",
    # other string attributes
    'title eq "engineer"',
    'title co "Engineer"',
    'title sw "eng"',
    "displayName pr",
    'nickName eq "bobby"',
    'name.givenName eq "ALICE"',
    'name.familyName sw "å"',
    'locale eq "de-ch"',
    'userType eq "Employee" or userType eq "contractor"',
    # booleans
    "active eq true",
    "active eq false",
    'active eq "False"',
    "active ne true",
    "active pr",
    # multi-valued complex attributes
    'emails eq "alice@x.com"',
    'emails.value eq "BOB@x.com"',
    'emails.value co "@x.com"',
    'emails.type eq "work"',
    'emails.type eq "WORK"',
    "emails.primary eq true",
    "emails.primary eq false",
    "emails.primary pr",
    "emails pr",
    "not (emails pr)",
    'emails[type eq "work"]',
    'emails[type eq "work" and value co "@x.com"]',
    'emails[type eq "work" or primary eq true]',
    'emails[not (type eq "work")]',
    'emails[value ew ".org"] and active eq true',
    'emails[type eq "work"].value eq "judy@x.com"',
    'phoneNumbers.value sw "+1"',
    'roles.value eq "reader"',
    'addresses.locality eq "zürich"',
    'addresses[country eq "CH"]',
    # groups: computed from memberships
    "groups pr",
    "not (groups pr)",
    'groups.display eq "{tag}eng team"',
    'groups.display co "_100%"',
    'groups[display sw "{tag}ops"]',
    'groups[display sw "{tag}eng" and type eq "direct"]',
    'groups.type eq "direct"',
    'groups eq "{group_0}"',
    # enterprise extension, qualified and not
    f'{ENTERPRISE}:department eq "research"',
    'department eq "Research"',
    f'{ENTERPRISE}:manager.value eq "mgr-1"',
    f"{ENTERPRISE}:manager.value pr",
    f'{ENTERPRISE.upper()}:DEPARTMENT EQ "SALES"',
    "employeeNumber pr",
    f'{ENTERPRISE}:organization co "cm"',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "{tag}a"',
    # logic, parentheses, case of keywords
    'title eq "engineer" and active eq false',
    'title eq "engineer" AND NOT (active eq false)',
    '(title eq "engineer" or title eq "Ärztin") and not (displayName pr)',
    'title eq "engineer" or (userType pr and active eq true)',
    'not (title co "e") or nickName pr',
    'USERNAME EQ "{tag}ken" Or TITLE Eq "%"',
    "not ((active eq true) and (emails pr))",
    # metadata
    'meta.resourceType eq "User"',
    'meta.lastModified gt "2000-01-01T00:00:00Z"',
    'meta.created lt "2000-01-01T00:00:00Z"',
    'meta.lastModified ge "{lastModified_3}"',
    'meta.lastModified gt "{lastModified_3}"',
    'meta.lastModified eq "{lastModified_5}"',
    'meta.created le "{created_5}"',
    'id eq "{id_0}"',
    'id eq "{ID_0}"',
    'schemas eq "' + ENTERPRISE + '"',
    # values with wildcard, quote, backslash and unicode characters
    'title co "%"',
    'title eq "%"',
    'title co "_"',
    'nickName eq "_"',
    'nickName co "\\\\"',
    'displayName co "\\\\slash\\\\"',
    'userName co "\\""',
    'displayName eq "O\'Brien"',
    'userName co "_100%@"',
    'nickName sw "100%"',
    'title eq "\\u00c4rztin"',
    'title eq "άλφα ωMEGA"',
    'displayName eq "ǆemal"',
    'nickName eq "STRASSE"',
    'userName co "ZOË.ÜNÏ"',
    'userName eq "{tag}eve+tag@x.com"',
    'emails.value co "%" or emails.value co "_"',
]

# The filters a server cannot evaluate: 400 invalidFilter, never an unfiltered list.
INVALID_FILTERS = [
    'noSuchAttribute eq "x"',
    'name eq "x"',
    'name gt "x"',
    'emails gt "a"',
    "userName eq",
    'userName zz "x"',
    'userName eq "unterminated',
    '(userName eq "x"',
    'userName eq "x")',
    'userName eq "x" and',
    'emails[type eq "work"',
    'emails[type eq "work"]]',
    'emails[noSub eq "x"]',
    'userName[value eq "x"]',
    'active eq "maybe"',
    "active gt true",
    'meta.lastModified gt "yesterday"',
    'meta.created co "2020"',
    'urn:example:unknown:1.0:User:userName eq "x"',
    f'{ENTERPRISE}:noSuchAttribute eq "x"',
    "userName eq x",
    'userName eq "x" or',
    'not userName eq "x"',
    "",
]


# -- generated filters ----------------------------------------------------------------------

_TEXT_PATHS = [
    "userName",
    "displayName",
    "nickName",
    "title",
    "userType",
    "locale",
    "externalId",
    "id",
    "name.givenName",
    "name.familyName",
    "emails.value",
    "emails.type",
    "emails",
    "phoneNumbers.value",
    "groups.display",
    "groups.value",
    "roles.value",
    "addresses.locality",
    "department",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:costCenter",
    "meta.resourceType",
]
_BOOLEAN_PATHS = ["active", "emails.primary"]
_TIME_PATHS = ["meta.created", "meta.lastModified"]
_ELEMENT_TEXT = ["value", "type", "display"]
_TEXT_OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
_ORDER_OPS = ["eq", "ne", "gt", "ge", "lt", "le"]


def _values_at(docs: list[dict], path: str) -> list:
    """Every value a path holds in the documents (for realistic comparison values)."""
    schema_key, _, rest = path.rpartition(":") if path.startswith("urn:") else ("", "", path)
    attr, _, sub = rest.partition(".")
    found = []
    for doc in docs:
        container = doc.get(schema_key, {}) if schema_key else doc
        if not schema_key and attr in ("department",):
            container = doc.get(ENTERPRISE, {})
        value = container.get(attr)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if sub or (isinstance(item, dict) and attr == "emails"):
                item = item.get(sub or "value") if isinstance(item, dict) else None
            if item is not None:
                found.append(item)
    return found


def _variants(text: str) -> list[str]:
    return [text, text.upper(), text.lower(), text[:3], text[-3:], text[1:-1], text.swapcase()]


def filter_strategy(docs: list[dict]) -> st.SearchStrategy[str]:
    def text_value(path: str) -> st.SearchStrategy[str]:
        seen = [v for v in _values_at(docs, path) if isinstance(v, str)]
        pool = sorted({variant for value in seen for variant in _variants(value)})
        pool += ["%", "_", "\\", '"', "x", "zz", "e", "@x.com"]
        return st.sampled_from(pool)

    def spelled(name: str) -> st.SearchStrategy[str]:
        return st.sampled_from([name, name.upper(), name.lower()])

    def quoted(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    text_leaf = st.sampled_from(_TEXT_PATHS).flatmap(
        lambda path: st.one_of(
            st.tuples(spelled(path), spelled(path).map(lambda _: "pr")).map(" ".join),
            st.tuples(
                spelled(path),
                st.sampled_from(_TEXT_OPS).flatmap(spelled),
                text_value(path).map(quoted),
            ).map(" ".join),
        )
    )
    boolean_leaf = st.tuples(
        st.sampled_from(_BOOLEAN_PATHS),
        st.sampled_from(["eq", "ne", "EQ"]),
        st.sampled_from(["true", "false", '"True"', '"false"']),
    ).map(" ".join)
    times = sorted({doc["meta"][key] for doc in docs for key in ("created", "lastModified")})
    time_leaf = st.tuples(
        st.sampled_from(_TIME_PATHS),
        st.sampled_from(_ORDER_OPS),
        st.sampled_from(times).map(quoted),
    ).map(" ".join)
    element_leaf = st.tuples(
        st.sampled_from(_ELEMENT_TEXT),
        st.sampled_from(_TEXT_OPS),
        text_value("emails.value") | text_value("emails.type"),
    ).map(lambda parts: f"{parts[0]} {parts[1]} {quoted(parts[2])}")
    element_filter = st.recursive(
        element_leaf | st.just("primary eq true") | st.just("display pr"),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
            inner.map(lambda f: f"not ({f})"),
        ),
        max_leaves=3,
    )
    value_path = element_filter.map(lambda f: f"emails[{f}]")
    leaf = text_leaf | boolean_leaf | time_leaf | value_path
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or", "AND", "Or"]), inner).map(
                lambda parts: f"({parts[0]}) {parts[1]} ({parts[2]})"
            ),
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
            inner.map(lambda f: f"not ({f})"),
        ),
        max_leaves=4,
    )


def generated_filters(docs: list[dict], count: int) -> list[str]:
    """`count` filters drawn by hypothesis (deterministically) from the documents' values."""
    drawn: list[str] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(filter_strategy(docs))
    def collect(text: str) -> None:
        drawn.append(text)

    collect()
    random.Random(0).shuffle(drawn)
    return list(dict.fromkeys(drawn))


def expected_ids(text: str, docs: list[dict]) -> set[str] | ScimError:
    """What the pure evaluator says: the matching ids, or the error binding raises."""
    try:
        bound = bind_filter(parse_filter(text), USER_RESOURCE)
    except ScimError as error:
        return error
    return {doc["id"] for doc in docs if matches(bound, doc, USER_RESOURCE)}
