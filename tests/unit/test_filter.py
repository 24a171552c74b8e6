"""Filters: parsing, printing, PATCH paths, binding and evaluation (RFC 7644 §3.4.2.2, §3.5.2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.scim.ast import (
    COMPARE_OPS,
    And,
    AttrPath,
    Compare,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
)
from app.scim.errors import ScimError
from app.scim.filter import (
    bind_element_filter,
    bind_filter,
    chain_operands,
    format_filter,
    matches,
    matches_element,
    parse_datetime,
    parse_filter,
    parse_patch_path,
    simple_equalities,
)
from app.scim.filter_parser import parse_in_full, simple_comparison, split_attr_path
from app.scim.schema_model import Attribute, ResourceType, Schema
from app.scim.schemas import (
    ENTERPRISE_USER_URN,
    GROUP_RESOURCE,
    GROUP_URN,
    USER_RESOURCE,
    USER_URN,
)

ENTERPRISE = ENTERPRISE_USER_URN
EMAILS = USER_RESOURCE.schema.attribute("emails")


def path(attr: str, sub: str | None = None, uri: str | None = None) -> AttrPath:
    return AttrPath(uri, attr, sub)


def eq(attr: str, value, sub: str | None = None, uri: str | None = None) -> Compare:
    return Compare(AttrPath(uri, attr, sub), "eq", value)


def scim_error(call, *args, **kwargs) -> ScimError:
    with pytest.raises(ScimError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- parsing ---------------------------------------------------------------------------------

PARSED = {
    'userName eq "bjensen"': eq("userName", "bjensen"),
    'name.familyName co "O\'Malley"': Compare(path("name", "familyName"), "co", "O'Malley"),
    'userName sw "J"': Compare(path("userName"), "sw", "J"),
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"': Compare(
        path("userName", uri=USER_URN), "sw", "J"
    ),
    "title pr": Present(path("title")),
    'meta.lastModified gt "2011-05-13T04:42:34Z"': Compare(
        path("meta", "lastModified"), "gt", "2011-05-13T04:42:34Z"
    ),
    'title pr and userType eq "Employee"': And(Present(path("title")), eq("userType", "Employee")),
    'title pr or userType eq "Intern"': Or(Present(path("title")), eq("userType", "Intern")),
    f'schemas eq "{ENTERPRISE}"': eq("schemas", ENTERPRISE),
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")': And(
        eq("userType", "Employee"),
        Or(
            Compare(path("emails"), "co", "example.com"),
            Compare(path("emails", "value"), "co", "example.org"),
        ),
    ),
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")': And(
        Compare(path("userType"), "ne", "Employee"),
        Not(
            Or(
                Compare(path("emails"), "co", "example.com"),
                Compare(path("emails", "value"), "co", "example.org"),
            )
        ),
    ),
    'userType eq "Employee" and (emails.type eq "work")': And(
        eq("userType", "Employee"), eq("emails", "work", sub="type")
    ),
    'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]': Or(
        ValuePath(
            path("emails"),
            And(eq("type", "work"), Compare(path("value"), "co", "@example.com")),
        ),
        ValuePath(path("ims"), And(eq("type", "xmpp"), Compare(path("value"), "co", "@foo.com"))),
    ),
    f"{ENTERPRISE}:manager.value eq null": eq("manager", None, sub="value", uri=ENTERPRISE),
}


@pytest.mark.parametrize(("text", "expected"), PARSED.items())
def test_parses_rfc_examples(text, expected):
    assert parse_filter(text) == expected


def test_entra_value_path_with_trailing_sub_attribute():
    assert parse_filter('emails[type eq "work"].value eq "x"') == ValuePath(
        path("emails"), And(eq("type", "work"), eq("value", "x"))
    )
    assert parse_filter('emails[type eq "work"].value pr') == ValuePath(
        path("emails"), And(eq("type", "work"), Present(path("value")))
    )


def test_keywords_operators_and_literals_are_case_insensitive():
    assert parse_filter('userName EQ "x" AND active Eq TRUE OR title Pr') == Or(
        And(eq("userName", "x"), eq("active", True)), Present(path("title"))
    )
    assert parse_filter("a eq False") == eq("a", False)
    assert parse_filter("a eq NULL") == eq("a", None)
    assert parse_filter('NOT (a eq "x")') == Not(eq("a", "x"))


def test_urn_paths_split_at_the_last_colon_in_any_case():
    upper = ENTERPRISE.upper()
    assert parse_filter(f'{upper}:MANAGER.VALUE eq "m"') == eq(
        "MANAGER", "m", sub="VALUE", uri=upper
    )
    assert parse_filter(f'{ENTERPRISE}:department eq "d"') == eq("department", "d", uri=ENTERPRISE)
    assert parse_filter(f'{USER_URN}:emails[type eq "work"]') == ValuePath(
        path("emails", uri=USER_URN), eq("type", "work")
    )


def test_precedence_is_not_then_and_then_or_left_associative():
    a, b, c, d = (Present(path(name)) for name in "abcd")
    assert parse_filter("a pr or b pr and c pr") == Or(a, And(b, c))
    assert parse_filter("a pr and b pr or c pr") == Or(And(a, b), c)
    assert parse_filter("a pr and b pr and c pr") == And(And(a, b), c)
    assert parse_filter("a pr or b pr or c pr or d pr") == Or(Or(Or(a, b), c), d)
    assert parse_filter("(a pr or b pr) and c pr") == And(Or(a, b), c)
    assert parse_filter("a pr and (b pr and c pr)") == And(a, And(b, c))
    assert parse_filter("not (a pr) and b pr") == And(Not(a), b)
    assert parse_filter("not (not (a pr or b pr))") == Not(Not(Or(a, b)))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'a eq "quote \" backslash \\ slash \/"', 'quote " backslash \\ slash /'),
        (r'a eq "\u00e9\n\t\b\f\r"', "é\n\t\b\f\r"),
        (r'a eq "\ud83d\ude00"', "\U0001f600"),
        ('a eq "samlp|acme|alice"', "samlp|acme|alice"),
        ('a eq "with ) and ] and (not"', "with ) and ] and (not"),
        ('a eq ""', ""),
        ("a eq 0", 0),
        ("a eq -12", -12),
        ("a eq 3.25", 3.25),
        ("a eq -1.5e3", -1500.0),
        ("a eq 2E-2", 0.02),
        ("a eq 12345678901234567890", 12345678901234567890),
    ],
)
def test_json_literals(text, value):
    parsed = parse_filter(text)
    assert parsed == eq("a", value)
    assert type(parsed.value) is type(value)


def test_whitespace_runs_and_tabs():
    assert parse_filter('  userName \t eq\t\t"x"   and  \tactive  eq true ') == And(
        eq("userName", "x"), eq("active", True)
    )
    assert parse_filter('userName eq"x"') == eq("userName", "x")


def test_value_path_inside_parentheses_and_negation():
    assert parse_filter('not (emails[not (type eq "work")]) and (members[value eq "1"])') == And(
        Not(ValuePath(path("emails"), Not(eq("type", "work")))),
        ValuePath(path("members"), eq("value", "1")),
    )


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ('userName "x"', 'expected an operator after "userName" at position 9'),
        ("userName", 'expected an operator after "userName" at position 8 (end of input)'),
        ("", "expected an attribute name"),
        ("   ", "expected an attribute name"),
        ("userName eq", 'expected a value (a JSON string, number, true, false or null) after "eq"'),
        ("userName eq bjensen", 'found "bjensen"'),
        ("userName eq 'x'", "expected a value"),
        ('userName eq "x', "unterminated string starting at position 12"),
        ('userName eq "x\\"', "unterminated string"),
        ('userName eq "\\x"', "invalid string literal"),
        ('userName eq "\\ud800"', "invalid string literal"),
        ('userName eq "tab\there"', "invalid string literal"),
        ("a eq 01", "expected a value"),
        ("a eq 1.", "expected a value"),
        ("a eq .5", "expected a value"),
        ("a eq +1", "expected a value"),
        ("a eq 1e999", "expected a value"),
        ("a eq true false", 'expected "and", "or" or the end of the filter'),
        ("a xx 1", 'expected an operator after "a"'),
        ("a pr and", "expected an attribute name"),
        ("a pr or or b pr", "expected an attribute name"),
        ("and pr", "expected an attribute name"),
        ("a pr and or pr", "expected an attribute name"),
        ("(a pr", '"(" at position 0 is not closed'),
        ("a pr)", 'found ")"'),
        ("()", "expected an attribute name"),
        ("not a pr", 'expected "(" after "not" at position 4'),
        ("not", 'expected "(" after "not"'),
        ('emails[type eq "work"', '"[" at position 6 is not closed'),
        ("emails[]", "expected an attribute name"),
        ('emails[type eq "w"][value pr]', 'expected "and", "or"'),
        ("emails[members[value pr]]", "cannot be nested inside another"),
        ("emails[name.givenName pr]", "expected a sub-attribute name inside"),
        (f"emails[{USER_URN}:type pr]", "expected a sub-attribute name inside"),
        ("name.givenName[value pr]", "is a sub-attribute"),
        ('emails[type eq "w"].value', 'expected an operator after ".value"'),
        ('emails[type eq "w"].value.x eq "y"', "invalid sub-attribute"),
        ('emails[type eq "w"] .value eq "y"', 'expected "and", "or"'),
        ("a.b.c pr", 'invalid attribute path "a.b.c" at position 0'),
        ("x:y pr", "invalid attribute path"),
        ("urn:x pr", "invalid attribute path"),
        ("urn:a:b: pr", "invalid attribute path"),
        ("1abc pr", "invalid attribute path"),
        ("user_name!x pr", "invalid attribute path"),
        ("a pr ]", 'found "]"'),
        ('"x" eq "y"', "expected an attribute name"),
    ],
)
def test_malformed_filters_are_invalid_filter_with_a_located_detail(text, detail):
    error = scim_error(parse_filter, text)
    assert (error.status, error.scim_type) == (400, "invalidFilter")
    assert detail in error.detail


def test_length_limit():
    text = 'userName eq "' + "x" * 4083 + '"'
    assert len(text) == 4097
    assert "longer than 4096" in scim_error(parse_filter, text).detail
    parse_filter(text[:-2] + '"')
    assert scim_error(parse_filter, "a pr", max_length=3).scim_type == "invalidFilter"


def test_depth_limit_counts_parentheses_not_and_brackets():
    def nested(depth: int) -> str:
        return "(" * depth + "a pr" + ")" * depth

    parse_filter(nested(64))
    assert "nesting deeper than 64" in scim_error(parse_filter, nested(65)).detail
    parse_filter("not (" * 32 + "a pr" + ")" * 32)
    assert scim_error(parse_filter, "not (" * 33 + "a pr" + ")" * 33).scim_type == "invalidFilter"
    parse_filter("(" * 63 + "emails[type pr]" + ")" * 63)
    scim_error(parse_filter, "(" * 64 + "emails[type pr]" + ")" * 64)
    assert parse_filter(nested(3), max_depth=3) == Present(path("a"))
    scim_error(parse_filter, nested(4), max_depth=3)


def test_huge_depth_limit_still_gives_invalid_filter_not_recursion_error():
    text = "(" * 20000 + "a pr" + ")" * 20000
    error = scim_error(parse_filter, text, max_length=50000, max_depth=10**6)
    assert error.scim_type == "invalidFilter"


def test_long_and_or_chains_are_handled_without_recursion():
    text = " or ".join(f'userName eq "u{i}"' for i in range(150)) + " and active eq true"
    assert len(text) <= 4096
    parsed = parse_filter(text)
    assert len(chain_operands(parsed)) == 150
    assert format_filter(parsed) == text
    bound = bind_filter(parsed, USER_RESOURCE)
    assert matches(bound, {"userName": "U7"}, USER_RESOURCE)
    assert not matches(bound, {"userName": "nobody"}, USER_RESOURCE)
    longest = " or ".join(["a pr"] * 512)
    assert format_filter(parse_filter(longest)) == longest


def test_parse_filter_rejects_non_text():
    assert scim_error(parse_filter, None).scim_type == "invalidFilter"


# --- printing ---------------------------------------------------------------------------------


def test_format_parenthesises_where_needed():
    a, b, c = (Present(path(name)) for name in "abc")
    assert format_filter(Or(a, And(b, c))) == "a pr or b pr and c pr"
    assert format_filter(And(Or(a, b), c)) == "(a pr or b pr) and c pr"
    assert format_filter(And(a, And(b, c))) == "a pr and (b pr and c pr)"
    assert format_filter(Or(a, Or(b, c))) == "a pr or (b pr or c pr)"
    assert format_filter(Not(And(a, b))) == "not (a pr and b pr)"
    assert format_filter(eq("a", 'q"\\/é')) == 'a eq "q\\"\\\\/é"'
    assert format_filter(eq("manager", None, "value", ENTERPRISE)) == (
        f"{ENTERPRISE}:manager.value eq null"
    )


EXAMPLE_FILTERS = [
    *PARSED,
    'userName eq "8b1d7f9e-0d3a-4b8e-9d3f-5a0c2f6e1b7a"',
    'userName eq "alice@contoso.com"',
    'externalId eq "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"',
    'emails[type eq "work"].value eq "alice@contoso.com"',
    'userName eq "test.user@okta.local"',
    'userName eq "TEST.USER@OKTA.LOCAL"',
    'displayName eq "Eng"',
    'externalId eq "samlp|acme|alice"',
    'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    'meta.created ge "2024-01-01T00:00:00+02:00" and meta.created lt "2024-02-01T00:00:00.5Z"',
    'not (active eq false) and (title pr or not (nickName sw "b" or nickName ew "y"))',
    f'{ENTERPRISE}:manager eq "m-1" or {ENTERPRISE}:department co "eng"',
    "a eq 1 and b gt -2.5 or c le 1e+16 and d ne true and e eq null",
]


@pytest.mark.parametrize("text", EXAMPLE_FILTERS)
def test_format_round_trips_examples(text):
    parsed = parse_filter(text)
    assert parse_filter(format_filter(parsed)) == parsed


names = st.from_regex(r"\$?[A-Za-z][A-Za-z0-9_-]{0,6}", fullmatch=True).filter(
    lambda name: name.lower() not in ("and", "or", "not")
)
uris = st.one_of(
    st.sampled_from([USER_URN, ENTERPRISE, GROUP_URN, ENTERPRISE.upper()]),
    st.lists(st.from_regex(r"[A-Za-z0-9.-]{1,6}", fullmatch=True), min_size=1, max_size=4).map(
        lambda segments: "urn:" + ":".join(segments)
    ),
)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    # NUL (text_rules) and lone surrogates (not UTF-8) are refused by design: never generated here.
    st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12),
)
operators = st.sampled_from(COMPARE_OPS)


def conditions(paths):
    return st.one_of(st.builds(Compare, paths, operators, values), st.builds(Present, paths))


def combined(children):
    return st.one_of(
        st.builds(And, children, children),
        st.builds(Or, children, children),
        st.builds(Not, children),
    )


element_filters = st.recursive(
    conditions(st.builds(AttrPath, st.none(), names)), combined, max_leaves=6
)
top_paths = st.builds(AttrPath, st.none() | uris, names, st.none() | names)
filters = st.recursive(
    st.one_of(
        conditions(top_paths),
        st.builds(ValuePath, st.builds(AttrPath, st.none() | uris, names), element_filters),
    ),
    combined,
    max_leaves=12,
)


@given(filters)
@settings(max_examples=400)
def test_format_then_parse_gives_the_same_tree(f):
    assert parse_filter(format_filter(f)) == f


FILTERISH = st.text(alphabet=' \t()[]"\\.:$-+01eEaAnNdDoOrRtTpPqQsSwWcCuUlLgG', max_size=60)


@given(st.one_of(st.text(max_size=80), FILTERISH, filters.map(format_filter)))
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_parse_filter_raises_only_scim_errors(text):
    for mangled in (text, text[: len(text) // 2], text.replace(" ", "")):
        try:
            parse_filter(mangled)
        except ScimError as error:
            assert (error.status, error.scim_type) == (400, "invalidFilter")


def _outcome(parse, text):
    try:
        return parse(text)
    except ScimError as error:
        return (error.status, error.scim_type, error.detail)


SPACES = st.sampled_from(["", " ", "  ", "\t", "\r\n", "\x0b", "\xa0"])
NEAR_NAMES = st.one_of(
    names,
    st.sampled_from(["and", "OR", "Not", "not", "$ref", "1abc", "a$b", "a.b.c", "émail", "pr"]),
    st.from_regex(r"[A-Za-z$][A-Za-z0-9_$.-]{0,8}", fullmatch=True),
)
NEAR_OPERATORS = st.one_of(
    operators,
    operators.map(str.upper),
    st.sampled_from(["pr", "Pr", "xx", "eqq", "e", "and", "not"]),
)
NEAR_STRINGS = st.one_of(
    st.text(st.characters(exclude_characters='"\\'), max_size=12).map(lambda t: f'"{t}"'),
    st.text(max_size=12).map(lambda t: f'"{t}"'),
    st.sampled_from(['"a\\"b"', '"\\u00e9"', '"x', '""', '"\x01"', '"\x00"', "true", "12"]),
)
NEAR_SIMPLE = st.builds(
    lambda *parts: "".join(parts),
    SPACES,
    NEAR_NAMES,
    st.sampled_from(["", "", "", ".value", ".givenName", ".$ref", ".", ".1"]),
    SPACES,
    NEAR_OPERATORS,
    SPACES,
    NEAR_STRINGS,
    SPACES,
    st.sampled_from(["", "", "", "", "", " and x pr", ")", " or", "]"]),
)


@given(NEAR_SIMPLE)
@example('not eq "x"')
@example('AND eq "x"')
@example('or.value eq "x"')
@example('userName pr "x"')
@example('userName eq "\ud800"')
@example('userName eq"x"')
@settings(max_examples=1500)
def test_the_simple_comparison_shortcut_agrees_with_the_parser(text):
    """`attr op "string"` skips the tokenizer: on anything near that shape, valid or not, the
    answer (tree or error) is the full parser's."""
    assert _outcome(parse_filter, text) == _outcome(parse_in_full, text)


def test_the_shortcut_takes_the_common_idp_matches():
    for text in ('userName eq "a@b.example"', 'externalId eq "x"', 'emails.value EQ "a@b"'):
        name, sub, op, value = simple_comparison(text)
        assert Compare(AttrPath(None, name, sub), op, value) == parse_in_full(text)
    assert simple_comparison('emails[type eq "work"]') is None


@given(st.one_of(st.text(max_size=60), FILTERISH))
@settings(max_examples=300)
def test_parse_patch_path_raises_only_scim_errors(text):
    try:
        parse_patch_path(text)
    except ScimError as error:
        assert (error.status, error.scim_type) == (400, "invalidPath")


# --- PATCH paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", PatchPath(path("userName"))),
        ("name.givenName", PatchPath(path("name", "givenName"))),
        ("NAME.FAMILYNAME", PatchPath(path("NAME", "FAMILYNAME"))),
        ("members", PatchPath(path("members"))),
        (
            'emails[type eq "work"].value',
            PatchPath(path("emails"), eq("type", "work"), "value"),
        ),
        (
            'emails[type eq "home"].display',
            PatchPath(path("emails"), eq("type", "home"), "display"),
        ),
        (
            'emails[type eq "home"].primary',
            PatchPath(path("emails"), eq("type", "home"), "primary"),
        ),
        (
            'members[value eq "2819c223"]',
            PatchPath(path("members"), eq("value", "2819c223")),
        ),
        (
            'emails[type eq "work" and value ew "example.com"]',
            PatchPath(
                path("emails"), And(eq("type", "work"), Compare(path("value"), "ew", "example.com"))
            ),
        ),
        (f"{ENTERPRISE}:manager", PatchPath(path("manager", uri=ENTERPRISE))),
        (f"{ENTERPRISE}:manager.value", PatchPath(path("manager", "value", ENTERPRISE))),
        (f"{ENTERPRISE}:employeeNumber", PatchPath(path("employeeNumber", uri=ENTERPRISE))),
        (f"{ENTERPRISE}:department", PatchPath(path("department", uri=ENTERPRISE))),
        (f"{USER_URN}:name.familyName", PatchPath(path("name", "familyName", USER_URN))),
        (
            f'{USER_URN.lower()}:EMAILS[TYPE EQ "work"].VALUE',
            PatchPath(path("EMAILS", uri=USER_URN.lower()), eq("TYPE", "work"), "VALUE"),
        ),
        (
            'addresses[type eq "work"].streetAddress',
            PatchPath(path("addresses"), eq("type", "work"), "streetAddress"),
        ),
    ],
)
def test_patch_paths(text, expected):
    assert parse_patch_path(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "name.givenName.x",
        "emails[",
        "emails[]",
        'emails[type eq "work"',
        'emails[type eq "work"].',
        'emails[type eq "work"].value.x',
        'emails[type eq "work"] .value',
        'emails[type eq "work"]value',
        'emails[type eq "work"][value pr]',
        'emails[type xx "work"]',
        "emails[type eq work]",
        "emails[name[x pr]]",
        'name.givenName[type eq "x"]',
        "userName eq",
        "userName displayName",
        "x:y",
        "urn:x",
        "(userName)",
        '"userName"',
    ],
)
def test_malformed_patch_paths_are_invalid_path(text):
    error = scim_error(parse_patch_path, text)
    assert (error.status, error.scim_type) == (400, "invalidPath")


# --- binding ----------------------------------------------------------------------------------


def bound(text: str, resource_type: ResourceType = USER_RESOURCE):
    return bind_filter(parse_filter(text), resource_type)


def test_bind_makes_paths_canonical():
    assert bound('USERNAME eq "x"') == eq("userName", "x", uri=USER_URN)
    assert bound('name.GIVENNAME eq "x"') == eq("name", "x", sub="givenName", uri=USER_URN)
    assert bound(f'{USER_URN.upper()}:userName eq "x"') == eq("userName", "x", uri=USER_URN)
    assert bound('department eq "d"') == eq("department", "d", uri=ENTERPRISE)
    assert bound(f'{ENTERPRISE.lower()}:MANAGER.value eq "m"') == eq(
        "manager", "m", sub="value", uri=ENTERPRISE
    )
    assert bound('ID eq "1"') == eq("id", "1", uri=USER_URN)
    assert bound('externalid eq "1"') == eq("externalId", "1", uri=USER_URN)
    assert bound('displayName eq "Eng"', GROUP_RESOURCE) == eq("displayName", "Eng", uri=GROUP_URN)


def test_bind_complex_attribute_without_sub_attribute_means_its_value():
    assert bound('emails eq "a@b"') == bound('emails.value eq "a@b"')
    assert bound('emails co "a"') == Compare(path("emails", "value", USER_URN), "co", "a")
    assert bound("emails pr") == Present(path("emails", uri=USER_URN))
    assert bound('manager eq "m"') == eq("manager", "m", sub="value", uri=ENTERPRISE)
    assert bound('members eq "u"', GROUP_RESOURCE) == eq("members", "u", "value", GROUP_URN)
    assert bound("name pr") == Present(path("name", uri=USER_URN))


def test_bind_value_paths_against_sub_attributes():
    assert bound('EMAILS[TYPE eq "work" and Primary eq "True"]') == ValuePath(
        path("emails", uri=USER_URN), And(eq("type", "work"), eq("primary", True))
    )
    assert bound('emails[type eq "work"].value eq "x"') == ValuePath(
        path("emails", uri=USER_URN), And(eq("type", "work"), eq("value", "x"))
    )
    assert bound('name[givenName eq "B"]') == ValuePath(
        path("name", uri=USER_URN), eq("givenName", "B")
    )
    assert bound('members[value eq "1"]', GROUP_RESOURCE) == ValuePath(
        path("members", uri=GROUP_URN), eq("value", "1")
    )


def test_bind_schemas_special_attribute():
    assert bound(f'SCHEMAS eq "{ENTERPRISE}"') == eq("schemas", ENTERPRISE)
    assert bound("schemas pr") == Present(path("schemas"))
    assert scim_error(bound, 'schemas co "x"').scim_type == "invalidFilter"
    assert scim_error(bound, "schemas eq 1").scim_type == "invalidFilter"


def test_bind_converts_values_to_the_attribute_type():
    assert bound("active eq true") == eq("active", True, uri=USER_URN)
    assert bound('active eq "False"') == eq("active", False, uri=USER_URN)
    assert bound('active ne "TRUE"') == Compare(path("active", uri=USER_URN), "ne", True)
    moment = datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)
    assert bound('meta.lastModified gt "2011-05-13T04:42:34Z"') == Compare(
        path("meta", "lastModified", USER_URN), "gt", moment
    )
    converted = bound('meta.created eq "2011-05-13T06:42:34.25+02:00"').value
    assert converted == moment.replace(microsecond=250000)
    assert converted.tzinfo is UTC


def test_bind_is_idempotent_and_bound_filters_print_and_reparse():
    for text in EXAMPLE_FILTERS:
        try:
            once = bound(text)
        except ScimError:
            continue
        assert bind_filter(once, USER_RESOURCE) == once
        assert bound(format_filter(once)) == once


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ('nope eq "x"', "unknown attribute"),
        ('name.nope eq "x"', "unknown attribute"),
        ('userName.x eq "x"', "unknown attribute"),
        ('urn:unknown:schema:userName eq "x"', "unknown schema"),
        (f'{ENTERPRISE}:userName eq "x"', "unknown attribute"),
        ('name eq "x"', "complex attribute"),
        ('emails gt "x"', "complex attribute"),
        ('userName[value eq "x"]', "needs a complex attribute"),
        ('emails[nope eq "x"]', "unknown sub-attribute"),
        ("active gt true", 'operator "gt" cannot be used on boolean'),
        ('active co "t"', 'operator "co" cannot be used on boolean'),
        ('active eq "yes"', "not a valid boolean value"),
        ("active eq 1", "not a valid boolean value"),
        ('meta.created eq "yesterday"', "not a valid dateTime value"),
        ('meta.created eq "2011-05-13"', "not a valid dateTime value"),
        ('meta.created eq "2011-02-30T00:00:00Z"', "not a valid dateTime value"),
        ('meta.created eq "0001-01-01T00:00:00+01:00"', "not a valid dateTime value"),
        ("meta.created eq 5", "not a valid dateTime value"),
        ('meta.created co "2011"', 'operator "co" cannot be used on dateTime'),
        ("userName eq 1", "not a valid string value"),
        ("userName eq true", "not a valid string value"),
        ("userName gt null", '"gt null" is not allowed'),
        ("userName co null", '"co null" is not allowed'),
        ('x509Certificates.value gt "x"', 'operator "gt" cannot be used on binary'),
        ('emails[type eq "work"].nope eq "x"', "unknown sub-attribute"),
    ],
)
def test_bind_errors_are_invalid_filter(text, detail):
    error = scim_error(bound, text)
    assert (error.status, error.scim_type) == (400, "invalidFilter")
    assert detail in error.detail


def test_bind_rejects_nested_value_paths_built_by_hand():
    nested = ValuePath(path("emails"), ValuePath(path("type"), Present(path("value"))))
    assert scim_error(bind_filter, nested, USER_RESOURCE).scim_type == "invalidFilter"


def test_bind_element_filter():
    parsed = parse_patch_path('emails[TYPE eq "work" and primary eq "true"]')
    assert bind_element_filter(parsed.value_filter, EMAILS) == And(
        eq("type", "work"), eq("primary", True)
    )
    error = scim_error(bind_element_filter, eq("nope", "x"), EMAILS)
    assert error.scim_type == "invalidFilter"
    userName = USER_RESOURCE.schema.attribute("userName")
    assert scim_error(bind_element_filter, eq("x", "y"), userName).scim_type == "invalidFilter"


WIDGET_URN = "urn:example:params:scim:schemas:core:2.0:Widget"
WIDGET = ResourceType(
    id="Widget",
    name="Widget",
    endpoint="/Widgets",
    description="numbers and case-exact strings",
    schema=Schema(
        id=WIDGET_URN,
        name="Widget",
        description="",
        attributes=(
            Attribute("count", "integer"),
            Attribute("weight", "decimal"),
            Attribute("code", "string", case_exact=True),
            Attribute("tags", "string", multi_valued=True),
            Attribute("flags", "boolean", multi_valued=True),
        ),
    ),
)


def test_bind_numbers():
    assert bound("count gt 2", WIDGET) == Compare(path("count", uri=WIDGET_URN), "gt", 2)
    assert bound("count eq 2.0", WIDGET).value == 2
    assert bound("weight le 2", WIDGET).value == 2
    assert bound("weight eq 2.5", WIDGET).value == 2.5
    for text in ('count eq "2"', "count eq 2.5", "count co 2", "weight sw 1", "weight eq true"):
        assert scim_error(bound, text, WIDGET).scim_type == "invalidFilter"


# --- evaluation -------------------------------------------------------------------------------

BJENSEN = {
    "schemas": [USER_URN, ENTERPRISE],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "samlp|acme|bjensen",
    "userName": "bjensen@example.com",
    "name": {"familyName": "O'Malley", "givenName": "Barbara"},
    "title": "Tour Guide",
    "userType": "Employee",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "ims": [{"value": "babs@foo.com", "type": "xmpp"}],
    "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
    },
    ENTERPRISE: {"department": "Tour Operations", "manager": {"value": "26118915-6090"}},
}
TRUE_FOR_BJENSEN = [
    'userName eq "BJENSEN@EXAMPLE.COM"',
    'name.familyName co "o\'malley"',
    'userName sw "BJ"',
    'userName ew "COM"',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b"',
    "title pr",
    "name pr",
    "emails pr",
    'meta.lastModified ge "2011-05-13T04:42:34Z"',
    'meta.lastModified le "2011-05-13T06:42:34+02:00"',
    'meta.lastModified eq "2011-05-13T04:42:34.000Z"',
    'meta.lastModified gt "2011-05-13T04:42:33Z"',
    'meta.created lt "2011-05-13T04:42:34Z"',
    'title pr and userType eq "Employee"',
    'title pr or userType eq "Intern"',
    f'schemas eq "{ENTERPRISE.upper()}"',
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    'userType eq "Employee" and (emails.type eq "work")',
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
    'emails[type eq "home"].value eq "babs@jensen.org"',
    'emails[primary eq true and type eq "work"]',
    'emails.type eq "home"',
    'emails.type ne "other"',
    'userName gt "a" and userName lt "c"',
    'active eq "true"',
    "active ne false",
    'manager eq "26118915-6090"',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value sw "2611"',
    'department co "operations"',
    'id eq "2819c223-7f76-453a-919d-413861904646"',
    'externalId eq "samlp|acme|bjensen"',
    "nickName eq null",
    "title ne null",
    'nickName ne "x"',
    "not (nickName pr)",
    'not (userName eq "other") and not (not (title pr))',
    'name[givenName eq "barbara"]',
    'meta.resourceType eq "User"',
]
FALSE_FOR_BJENSEN = [
    'userName eq "bjensen"',
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
    'emails[type eq "work" and value co "@jensen.org"]',
    'emails[type eq "home"].value eq "bjensen@example.com"',
    'emails.type ne "work"',
    'id eq "2819C223-7F76-453A-919D-413861904646"',
    'externalId eq "SAMLP|ACME|BJENSEN"',
    'meta.resourceType eq "user"',
    "nickName pr",
    "phoneNumbers pr",
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
    'meta.lastModified lt "2011-05-13T06:42:34+02:00"',
    "title eq null",
    'schemas eq "urn:ietf:params:scim:schemas:core:2.0:Group"',
    "active eq false",
    'manager eq "someone-else"',
    'department eq "Tour"',
    'phoneNumbers[type eq "work"]',
    'x509Certificates.value eq "x"',
    "not (title pr)",
]


@pytest.mark.parametrize("text", TRUE_FOR_BJENSEN)
def test_matches(text):
    assert matches(bound(text), BJENSEN, USER_RESOURCE)


@pytest.mark.parametrize("text", FALSE_FOR_BJENSEN)
def test_does_not_match(text):
    assert not matches(bound(text), BJENSEN, USER_RESOURCE)


def test_presence_ignores_empty_values():
    user = {"title": "", "emails": [], "name": {"givenName": None}, "nickName": None}
    for text in ("title pr", "emails pr", "name pr", "nickName pr", "name.givenName pr"):
        assert not matches(bound(text), user, USER_RESOURCE), text
    assert matches(bound("title eq null"), user, USER_RESOURCE)


def test_matches_numbers_and_case_exact_strings():
    widget = {"count": 3, "weight": 2.5, "code": "AbC", "tags": ["Red", "blue"], "flags": [False]}
    for text in (
        "count gt 2",
        "count eq 3.0",
        "weight lt 3",
        "weight ge 2.5",
        'code eq "AbC"',
        'code co "b"',
        'tags eq "red"',
        'tags sw "BL"',
        "flags eq false",
        "flags ne true",
    ):
        assert matches(bound(text, WIDGET), widget, WIDGET), text
    for text in ('code eq "abc"', "count lt 3", 'tags eq "green"', "flags eq true", "weight gt 3"):
        assert not matches(bound(text, WIDGET), widget, WIDGET), text
    assert not matches(bound("count eq 3", WIDGET), {"count": True}, WIDGET)


def test_matches_groups():
    group = {
        "schemas": [GROUP_URN],
        "displayName": "Eng",
        "members": [{"value": "u1", "display": "Alice"}, {"value": "u2"}],
    }
    for text in ('displayName eq "eng"', 'members[value eq "u2"]', 'members eq "u1"', "members pr"):
        assert matches(bound(text, GROUP_RESOURCE), group, GROUP_RESOURCE), text
    assert not matches(bound('members[value eq "u3"]', GROUP_RESOURCE), group, GROUP_RESOURCE)


ODD_DOCUMENTS = [
    {},
    {"emails": "a@b"},
    {"emails": {"value": "a@b"}},
    {"emails": [1, None, "x", [], [{"value": "x"}], {"value": 5}, {"value": ["x"]}]},
    {"name": "Barbara"},
    {"name": ["x"]},
    {"userName": ["bjensen"]},
    {"userName": 5},
    {"active": "true"},
    {"meta": "x"},
    {"meta": {"lastModified": "garbage", "created": 17}},
    {"meta": {"lastModified": "2011-05-13T04:42:99Z"}},
    {"schemas": "urn:x"},
    {"schemas": [1, None]},
    {ENTERPRISE: "x"},
    {ENTERPRISE: {"manager": "bare-string"}},
    {ENTERPRISE: {"manager": [{"value": "m"}]}},
]


@pytest.mark.parametrize("document", ODD_DOCUMENTS)
@pytest.mark.parametrize("text", TRUE_FOR_BJENSEN + FALSE_FOR_BJENSEN)
def test_odd_document_shapes_never_raise(document, text):
    assert matches(bound(text), document, USER_RESOURCE) in (True, False)


def test_odd_document_shapes_do_not_match():
    assert not matches(bound('emails eq "a@b"'), {"emails": "a@b"}, USER_RESOURCE)
    assert not matches(bound('userName eq "b"'), {"userName": ["b"]}, USER_RESOURCE)
    assert not matches(bound("active eq true"), {"active": "true"}, USER_RESOURCE)
    assert not matches(bound('manager eq "m"'), {ENTERPRISE: {"manager": "m"}}, USER_RESOURCE)
    assert not matches(bound("title pr"), "not a document", USER_RESOURCE)


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["value", "type", "primary", "givenName", "lastModified", "x"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=10,
)
user_documents = st.dictionaries(
    st.sampled_from(
        ["userName", "emails", "name", "active", "meta", "title", "schemas", "ims", ENTERPRISE]
    ),
    json_documents,
)


@given(user_documents)
@settings(max_examples=150)
def test_matches_never_raises_on_random_documents(document):
    for text in TRUE_FOR_BJENSEN:
        matches(bound(text), document, USER_RESOURCE)


def test_matches_element():
    element_filter = bind_element_filter(parse_filter('type eq "WORK" and primary eq true'), EMAILS)
    assert matches_element(element_filter, {"type": "work", "primary": True}, EMAILS)
    assert not matches_element(element_filter, {"type": "work"}, EMAILS)
    assert not matches_element(element_filter, {"type": "work", "primary": "true"}, EMAILS)
    assert not matches_element(element_filter, "work", EMAILS)
    assert matches_element(bind_element_filter(parse_filter("display eq null"), EMAILS), {}, EMAILS)


def test_parse_datetime():
    assert parse_datetime("2011-05-13T04:42:34Z") == datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)
    assert parse_datetime("2011-05-13t04:42:34.123456789-01:30") == datetime(
        2011, 5, 13, 6, 12, 34, 123456, tzinfo=UTC
    )
    assert parse_datetime("2011-05-13T04:42:34") == datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)
    for text in (
        "2011-05-13",
        "2011-05-13T24:00:00Z",
        "2011-05-13T04:42:34+25:00",
        "x",
        "٢٠١١-05-13T04:42:34Z",
    ):
        assert parse_datetime(text) is None


# --- simple equalities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('type eq "work"', {"type": "work"}),
        ('type eq "work" and primary eq true', {"type": "work", "primary": True}),
        (
            'type eq "work" and (primary eq true and display eq "W")',
            {"type": "work", "primary": True, "display": "W"},
        ),
        ('type eq "work" and type eq "work"', {"type": "work"}),
        ('type eq "work" and type eq "home"', None),
        ('type eq "work" or type eq "home"', None),
        ('type ne "work"', None),
        ('type co "work"', None),
        ("type pr", None),
        ("type eq null", None),
        ('not (type eq "work")', None),
    ],
)
def test_simple_equalities(text, expected):
    element_filter = bind_element_filter(parse_filter(text), EMAILS)
    assert simple_equalities(element_filter) == expected


def test_simple_equalities_of_an_entra_patch_path():
    patch_path = parse_patch_path('emails[type eq "work"].value')
    element_filter = bind_element_filter(patch_path.value_filter, EMAILS)
    assert simple_equalities(element_filter) == {"type": "work"}
    assert simple_equalities(bound('userName eq "x"')) is None


def _spellings(resource_type: ResourceType) -> list[str]:
    """Attribute paths of a resource type as a client might write them, in mixed case."""
    written = ["schemas"]
    for schema in resource_type.all_schemas:
        attributes = schema.attributes + (
            resource_type.common_attributes if schema is resource_type.schema else ()
        )
        for attribute in attributes:
            written += [attribute.name, f"{schema.id}:{attribute.name.upper()}"]
            written += [f"{attribute.name}.{sub.name}" for sub in attribute.sub_attributes]
    return written


known_paths = st.sampled_from(_spellings(USER_RESOURCE)).map(lambda text: split_attr_path(text))
known_subs = st.sampled_from(["value", "type", "primary", "display", "givenName", "nope"]).map(
    lambda name: AttrPath(None, name)
)
typed_values = st.one_of(
    values,
    st.sampled_from(["2011-05-13T04:42:34Z", "true", "False", "work", ENTERPRISE]),
)
known_filters = st.recursive(
    st.one_of(
        st.builds(Compare, known_paths, operators, typed_values),
        st.builds(Present, known_paths),
        st.builds(
            ValuePath,
            known_paths,
            st.recursive(
                st.builds(Compare, known_subs, operators, typed_values)
                | st.builds(Present, known_subs),
                combined,
                max_leaves=3,
            ),
        ),
    ),
    combined,
    max_leaves=6,
)


@given(known_filters, user_documents)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_bind_and_matches_raise_only_invalid_filter(f, document):
    try:
        once = bind_filter(f, USER_RESOURCE)
    except ScimError as error:
        assert (error.status, error.scim_type) == (400, "invalidFilter")
        return
    assert bind_filter(once, USER_RESOURCE) == once
    assert bind_filter(parse_filter(format_filter(once)), USER_RESOURCE) == once
    assert matches(once, document, USER_RESOURCE) in (True, False)
    assert matches(Not(once), document, USER_RESOURCE) is not matches(once, document, USER_RESOURCE)
