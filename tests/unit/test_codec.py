"""Request-body canonicalisation and response rendering (RFC 7643 §2, RFC 7644 §3.4.2.5)."""

from __future__ import annotations

import contextlib
import copy

import pytest
import scim2_models
from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import Context

from app.scim.ast import AttrPath
from app.scim.codec import (
    canonicalize_resource,
    coerce_value,
    etag_for,
    parse_attribute_list,
    parse_etag,
    render_resource,
    schemas_for,
)
from app.scim.discovery import resource_type_document, schema_document
from app.scim.errors import ScimError
from app.scim.schema_model import Attribute
from app.scim.schemas import (
    ENTERPRISE_USER_SCHEMA,
    ENTERPRISE_USER_URN,
    GROUP_RESOURCE,
    GROUP_SCHEMA,
    GROUP_URN,
    RESOURCE_TYPES,
    SCHEMAS,
    USER_RESOURCE,
    USER_SCHEMA,
    USER_URN,
)

ENT = ENTERPRISE_USER_URN
USER_META = {
    "resourceType": "User",
    "created": "2010-01-23T04:56:22Z",
    "lastModified": "2011-05-13T04:42:34Z",
    "version": 'W/"3694e05e9dff591"',
    "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
}

# RFC 7643 §8.2 (full user) with the §8.3 enterprise extension, as a client would POST it.
FULL_USER = {
    "schemas": [USER_URN, ENT],
    "externalId": "701984",
    "userName": "bjensen@example.com",
    "name": {
        "formatted": "Ms. Barbara J Jensen, III",
        "familyName": "Jensen",
        "givenName": "Barbara",
        "middleName": "Jane",
        "honorificPrefix": "Ms.",
        "honorificSuffix": "III",
    },
    "displayName": "Babs Jensen",
    "nickName": "Babs",
    "profileUrl": "https://login.example.com/bjensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/Los_Angeles",
    "active": True,
    "password": "t1meMa$heen",
    "emails": [
        {"value": "bjensen@example.com", "display": "Babs", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "phoneNumbers": [
        {"value": "555-555-5555", "display": "Work", "type": "work", "primary": True},
        {"value": "555-555-4444", "type": "mobile"},
    ],
    "ims": [{"value": "someaimhandle", "display": "aim", "type": "aim", "primary": True}],
    "photos": [
        {
            "value": "https://photos.example.com/profilephoto/72930000000Ccne/F",
            "display": "Photo",
            "type": "photo",
            "primary": True,
        },
        {
            "value": "https://photos.example.com/profilephoto/72930000000Ccne/T",
            "type": "thumbnail",
        },
    ],
    "addresses": [
        {
            "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "USA",
            "type": "work",
            "primary": True,
        },
        {
            "formatted": "456 Hollywood Blvd\nHollywood, CA 91608 USA",
            "streetAddress": "456 Hollywood Blvd",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "USA",
            "type": "home",
        },
    ],
    "entitlements": [
        {"value": "Employee Access", "display": "Access", "type": "basic", "primary": True}
    ],
    "roles": [{"value": "Tour Guide", "type": "job", "display": "Guide", "primary": False}],
    "x509Certificates": [
        {
            "value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx",
            "display": "Work certificate",
            "type": "work",
            "primary": True,
        }
    ],
    ENT: {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {
            "value": "26118915-6090-4610-87e4-49d8ca9f808d",
            "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
        },
    },
}


def _render_user(doc, **kwargs):
    kwargs.setdefault("resource_id", "2819c223-7f76-453a-919d-413861904646")
    kwargs.setdefault("meta", USER_META)
    return render_resource(doc, USER_RESOURCE, **kwargs)


def _scim_error(function, *args, **kwargs) -> ScimError:
    with pytest.raises(ScimError) as caught:
        function(*args, **kwargs)
    return caught.value


# --- round trip -------------------------------------------------------------------------------


def test_full_user_round_trips_exactly_as_written():
    doc = canonicalize_resource(copy.deepcopy(FULL_USER), USER_RESOURCE)
    rendered = _render_user(doc)
    expected = {key: value for key, value in FULL_USER.items() if key != "password"}
    expected = {
        "schemas": expected.pop("schemas"),
        "id": "2819c223-7f76-453a-919d-413861904646",
        **expected,
        "meta": USER_META,
    }
    assert rendered == expected
    assert list(rendered) == list(expected)
    assert rendered["locale"] == "en-US" and rendered["timezone"] == "America/Los_Angeles"


def test_every_published_user_attribute_is_covered_by_the_round_trip():
    writable = {
        a.name for a in USER_SCHEMA.attributes if a.mutability not in ("readOnly", "writeOnly")
    }
    assert writable <= set(FULL_USER)
    for attribute in USER_SCHEMA.attributes:
        if attribute.name in writable and attribute.type == "complex":
            values = FULL_USER[attribute.name]
            written = set().union(*(v.keys() for v in values)) if attribute.multi_valued else values
            assert {s.name for s in attribute.sub_attributes} == set(written)
    assert set(FULL_USER[ENT]) == {a.name for a in ENTERPRISE_USER_SCHEMA.attributes}


def test_canonical_document_layout():
    doc = canonicalize_resource(copy.deepcopy(FULL_USER), USER_RESOURCE)
    for dropped in ("schemas", "id", "meta", "password", "groups"):
        assert dropped not in doc
    assert doc["externalId"] == "701984"
    assert doc[ENT]["department"] == "Tour Operations"
    assert "department" not in doc


def test_group_round_trips():
    body = {
        "schemas": [GROUP_URN],
        "externalId": "e-1",
        "displayName": "Tour Guides",
        "members": [
            {"value": "u1", "$ref": "https://example.com/v2/Users/u1", "type": "User"},
            {"value": "g2", "type": "Group"},
        ],
    }
    doc = canonicalize_resource(copy.deepcopy(body), GROUP_RESOURCE)
    assert doc["members"] == body["members"]
    meta = {"resourceType": "Group", "version": 'W/"1"'}
    rendered = render_resource(doc, GROUP_RESOURCE, resource_id="g1", meta=meta)
    assert rendered == {"id": "g1", **body, "meta": meta}
    assert list(rendered) == ["schemas", "id", "externalId", "displayName", "members", "meta"]


def _discovered_provider() -> scim2_models.ScimProvider:
    """The view scim2-tester builds of this server from its discovery documents."""
    base = "https://scim.example.test/v2"
    ctx = Context.RESOURCE_QUERY_RESPONSE
    schemas = [
        scim2_models.Schema.model_validate(schema_document(s, base), scim_ctx=ctx) for s in SCHEMAS
    ]
    resource_types = [
        scim2_models.ResourceType.model_validate(resource_type_document(rt, base), scim_ctx=ctx)
        for rt in RESOURCE_TYPES
    ]
    return scim2_models.ScimProvider.from_discovery(schemas, resource_types)


def test_rendered_resources_survive_the_discovered_scim2_models():
    provider = _discovered_provider()
    ctx = Context.RESOURCE_QUERY_RESPONSE
    groups = [{"value": "g1", "$ref": "https://h.test/Groups/g1", "display": "G", "type": "direct"}]
    rendered = _render_user(_full_doc(), computed={"groups": groups})
    user = provider.model_for("User").model_validate(rendered, scim_ctx=ctx, scim_provider=provider)
    assert user.model_dump(scim_ctx=ctx) == rendered
    members = [{"value": "u1", "$ref": "https://h.test/Users/u1", "type": "User", "display": "U"}]
    rendered = render_resource(
        {"displayName": "g"},
        GROUP_RESOURCE,
        resource_id="g1",
        meta={"resourceType": "Group", "location": "https://h.test/Groups/g1"},
        computed={"members": members},
    )
    group = provider.model_for("Group").model_validate(
        rendered, scim_ctx=ctx, scim_provider=provider
    )
    assert group.model_dump(scim_ctx=ctx) == rendered


def test_rendered_user_validates_with_scim2_models():
    doc = canonicalize_resource(copy.deepcopy(FULL_USER), USER_RESOURCE)
    rendered = _render_user(doc, computed={"groups": [{"value": "g1", "display": "Guides"}]})
    model = scim2_models.User[scim2_models.EnterpriseUser]
    user = model.model_validate(rendered, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert user.user_name == "bjensen@example.com"
    assert user[scim2_models.EnterpriseUser].manager.value.startswith("26118915")


# --- coerce_value -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("True", True),
        ("False", False),
        ("true", True),
        ("FALSE", False),
    ],
)
def test_booleans_accept_idp_strings(raw, expected):
    active = USER_SCHEMA.attribute("active")
    assert coerce_value(active, raw, where="active") is expected


@pytest.mark.parametrize("raw", ["yes", 1, 0, "", [True], {"value": True}])
def test_booleans_refuse_other_values(raw):
    error = _scim_error(coerce_value, USER_SCHEMA.attribute("active"), raw, where="active")
    assert (error.status, error.scim_type) == (400, "invalidValue")
    assert "active" in error.detail


@pytest.mark.parametrize("raw", [5, 5.5, True, {"a": 1}, ["x"]])
def test_strings_must_be_strings(raw):
    error = _scim_error(coerce_value, USER_SCHEMA.attribute("userName"), raw, where="userName")
    assert error.scim_type == "invalidValue" and "userName" in error.detail


def test_strings_are_kept_as_written():
    locale = USER_SCHEMA.attribute("locale")
    assert coerce_value(locale, "en-US", where="locale") == "en-US"
    assert coerce_value(locale, "", where="locale") == ""


@pytest.mark.parametrize("raw", [None, [], {}, [None], [{}], [{"value": None}]])
def test_unassigned_values_are_none(raw):
    assert coerce_value(USER_SCHEMA.attribute("emails"), raw, where="emails") is None


def test_single_object_becomes_a_one_element_list():
    emails = USER_SCHEMA.attribute("emails")
    value = coerce_value(emails, {"VALUE": "a@b.c", "Primary": "true"}, where="emails")
    assert value == [{"value": "a@b.c", "primary": True}]


def test_complex_keys_are_canonical_unknown_and_null_dropped():
    emails = USER_SCHEMA.attribute("emails")
    value = coerce_value(
        emails,
        [None, {"TYPE": "work", "value": "x@y", "display": None, "bogus": 1}],
        where="emails",
    )
    assert value == [{"value": "x@y", "type": "work"}]
    assert list(value[0]) == ["value", "type"]


def test_sub_value_errors_name_the_element():
    emails = USER_SCHEMA.attribute("emails")
    error = _scim_error(coerce_value, emails, [{"value": "a"}, {"value": 7}], where="emails")
    assert "emails[1].value" in error.detail


def test_manager_bare_string_and_null_ref():
    manager = ENTERPRISE_USER_SCHEMA.attribute("manager")
    assert coerce_value(manager, "m-1", where="manager") == {"value": "m-1"}
    assert coerce_value(manager, {"value": "m-1", "$ref": None}, where="manager") == {
        "value": "m-1"
    }


def test_members_with_null_ref_and_bare_ids():
    members = GROUP_SCHEMA.attribute("members")
    value = coerce_value(members, [{"$ref": None, "value": "u1"}, "u2"], where="members")
    assert value == [{"value": "u1"}, {"value": "u2"}]


def test_complex_without_value_sub_attribute_refuses_scalars():
    name = USER_SCHEMA.attribute("name")
    assert _scim_error(coerce_value, name, "Babs", where="name").scim_type == "invalidValue"


def test_single_valued_refuses_lists():
    name = USER_SCHEMA.attribute("name")
    assert _scim_error(coerce_value, name, [{"givenName": "B"}], where="name").status == 400


def test_nested_lists_are_refused():
    emails = USER_SCHEMA.attribute("emails")
    assert _scim_error(coerce_value, emails, [[{"value": "a"}]], where="emails").status == 400


@pytest.mark.parametrize(
    "raw",
    [
        "2011-05-13T04:42:34Z",
        "2011-05-13T04:42:34.123456789+02:00",
        "2011-05-13t04:42:34z",
        "2011-05-13T04:42:34",
        "2016-12-31T23:59:60Z",
    ],
)
def test_date_times_are_validated_and_kept(raw):
    created = Attribute(name="created", type="dateTime")
    assert coerce_value(created, raw, where="created") == raw


@pytest.mark.parametrize(
    "raw",
    [
        "2011-13-13T04:42:34Z",
        "2011-05-13",
        "yesterday",
        "2011-02-30T00:00:00Z",
        "2011-05-13T23:60:00Z",
        "2011-05-13T04:42:34+25:00",
        1305261754,
    ],
)
def test_bad_date_times_are_refused(raw):
    created = Attribute(name="created", type="dateTime")
    assert _scim_error(coerce_value, created, raw, where="created").scim_type == "invalidValue"


def test_numbers():
    integer = Attribute(name="n", type="integer")
    decimal = Attribute(name="d", type="decimal")
    assert coerce_value(integer, 3, where="n") == 3
    assert coerce_value(integer, 3.0, where="n") == 3
    assert coerce_value(decimal, 2.5, where="d") == 2.5
    assert coerce_value(decimal, 2, where="d") == 2
    for bad in (True, "3", 3.5):
        assert _scim_error(coerce_value, integer, bad, where="n").status == 400
    for bad in (False, "2.5", float("nan"), float("inf")):
        assert _scim_error(coerce_value, decimal, bad, where="d").status == 400


def test_binary_and_reference_need_strings():
    certificates = USER_SCHEMA.attribute("x509Certificates")
    assert _scim_error(coerce_value, certificates, [{"value": 12}], where="x").status == 400
    profile = USER_SCHEMA.attribute("profileUrl")
    assert _scim_error(coerce_value, profile, {"u": 1}, where="profileUrl").status == 400


# --- canonicalize_resource: what the IdPs send ------------------------------------------------


def test_entra_create_user():
    body = {
        "schemas": [USER_URN, ENT],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "g"},
        "roles": [],
    }
    doc = canonicalize_resource(body, USER_RESOURCE)
    assert doc == {
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "g"},
        "active": True,
        "emails": [{"value": "Test_User_fd0ea19b@testuser.com", "type": "work", "primary": True}],
    }


def test_okta_create_and_put_echo():
    body = {
        "schemas": [USER_URN],
        "id": "server-id",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [{"value": "g1", "display": "Eng"}],
        "password": "1mz050nq",
        "active": True,
        "meta": {"resourceType": "User", "version": 'W/"1"', "created": "not a date"},
    }
    doc = canonicalize_resource(body, USER_RESOURCE)
    assert set(doc) == {
        "userName",
        "name",
        "emails",
        "displayName",
        "locale",
        "externalId",
        "active",
    }


def test_onelogin_string_boolean_and_single_email():
    body = {"userName": "ol", "active": "true", "emails": {"value": "ol@x.test", "primary": "True"}}
    doc = canonicalize_resource(body, USER_RESOURCE)
    assert doc["active"] is True
    assert doc["emails"] == [{"value": "ol@x.test", "primary": True}]


def test_keys_are_case_insensitive():
    doc = canonicalize_resource(
        {"USERNAME": "a", "Name": {"GIVENNAME": "A"}, "ExternalID": "x"}, USER_RESOURCE
    )
    assert doc == {"externalId": "x", "userName": "a", "name": {"givenName": "A"}}


def test_flat_urn_and_dotted_keys():
    body = {
        f"{USER_URN}:userName": "flat",
        "name.givenName": "Given",
        "name": {"familyName": "Family"},
        f"{ENT}:department": "Eng",
        f"{ENT.upper()}:MANAGER": "boss-id",
        f"{ENT}:manager.$ref": "../Users/boss-id",
    }
    doc = canonicalize_resource(body, USER_RESOURCE)
    assert doc == {
        "userName": "flat",
        "name": {"familyName": "Family", "givenName": "Given"},
        ENT: {"department": "Eng", "manager": {"value": "boss-id", "$ref": "../Users/boss-id"}},
    }


def test_core_urn_container_and_unqualified_extension_attribute():
    body = {USER_URN: {"userName": "nested"}, "costCenter": "42"}
    assert canonicalize_resource(body, USER_RESOURCE) == {
        "userName": "nested",
        ENT: {"costCenter": "42"},
    }


def test_read_only_sub_attributes_are_dropped():
    body = {"userName": "u", ENT: {"manager": {"value": "m", "displayName": "Boss"}}}
    assert canonicalize_resource(body, USER_RESOURCE)[ENT] == {"manager": {"value": "m"}}
    body = {ENT: {"manager": {"displayName": "Boss"}}, "userName": "u"}
    assert ENT not in canonicalize_resource(body, USER_RESOURCE)


def test_read_only_values_of_the_wrong_type_are_ignored_not_refused():
    body = {"userName": "u", "groups": 5, "id": 7, "meta": "x", "schemas": "nonsense"}
    assert canonicalize_resource(body, USER_RESOURCE) == {"userName": "u"}


def test_entra_group_with_unknown_schema_and_null_refs():
    body = {
        "schemas": [
            GROUP_URN,
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group:foo": "bar",
        "members": [{"$ref": None, "value": "u1"}, {"value": "u2", "display": "Two"}],
    }
    doc = canonicalize_resource(body, GROUP_RESOURCE)
    assert doc == {
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "members": [{"value": "u1"}, {"value": "u2"}],
    }


def test_keycloak_group_members_with_refs():
    body = {"displayName": "kc", "members": [{"value": "u1", "$ref": "Users/u1"}]}
    doc = canonicalize_resource(body, GROUP_RESOURCE)
    assert doc["members"] == [{"value": "u1", "$ref": "Users/u1"}]


def test_empty_members_are_unassigned():
    assert canonicalize_resource({"displayName": "g", "members": []}, GROUP_RESOURCE) == {
        "displayName": "g"
    }


@pytest.mark.parametrize(
    ("body", "rt", "missing"),
    [
        ({"name": {"givenName": "x"}}, USER_RESOURCE, "userName"),
        ({"userName": None}, USER_RESOURCE, "userName"),
        ({"userName": "   "}, USER_RESOURCE, "userName"),
        ({"members": []}, GROUP_RESOURCE, "displayName"),
    ],
)
def test_missing_required_attribute(body, rt, missing):
    error = _scim_error(canonicalize_resource, body, rt)
    assert (error.status, error.scim_type) == (400, "invalidValue")
    assert missing in error.detail


@pytest.mark.parametrize("body", [None, [], "text", 3, [{"userName": "a"}]])
def test_body_must_be_an_object(body):
    error = _scim_error(canonicalize_resource, body, USER_RESOURCE)
    assert (error.status, error.scim_type) == (400, "invalidSyntax")


def test_wrong_types_are_invalid_values_naming_the_attribute():
    error = _scim_error(
        canonicalize_resource, {"userName": "u", ENT: {"department": 5}}, USER_RESOURCE
    )
    assert error.scim_type == "invalidValue" and f"{ENT}:department" in error.detail
    error = _scim_error(canonicalize_resource, {"userName": "u", ENT: "eng"}, USER_RESOURCE)
    assert error.scim_type == "invalidValue"


def test_schemas_for():
    assert schemas_for({"userName": "u"}, USER_RESOURCE) == [USER_URN]
    assert schemas_for({"userName": "u", ENT: {"department": "d"}}, USER_RESOURCE) == [
        USER_URN,
        ENT,
    ]
    assert schemas_for({"displayName": "g"}, GROUP_RESOURCE) == [GROUP_URN]


# --- attributes / excludedAttributes ----------------------------------------------------------


def test_parse_attribute_list():
    paths = parse_attribute_list(
        "USERNAME, name.GivenName,urn:ietf:params:scim:schemas:core:2.0:User:emails.value,"
        f"{ENT}:department,unknown,name.nope,,id,meta.version,urn:x:y:z",
        USER_RESOURCE,
    )
    assert paths == (
        AttrPath(USER_URN, "userName"),
        AttrPath(USER_URN, "name", "givenName"),
        AttrPath(USER_URN, "emails", "value"),
        AttrPath(ENT, "department"),
        AttrPath(USER_URN, "id"),
        AttrPath(USER_URN, "meta", "version"),
    )


def test_parse_attribute_list_inputs():
    assert parse_attribute_list(None, USER_RESOURCE) == ()
    assert parse_attribute_list(5, USER_RESOURCE) == ()
    assert parse_attribute_list("", USER_RESOURCE) == ()
    assert parse_attribute_list(["userName", "userName,displayName"], USER_RESOURCE) == (
        AttrPath(USER_URN, "userName"),
        AttrPath(USER_URN, "displayName"),
    )
    assert parse_attribute_list("members", USER_RESOURCE) == ()
    assert parse_attribute_list("members", GROUP_RESOURCE) == (AttrPath(GROUP_URN, "members"),)
    whole = parse_attribute_list(ENT.lower(), USER_RESOURCE)
    assert {p.attr for p in whole} == {a.name for a in ENTERPRISE_USER_SCHEMA.attributes}


# --- render_resource --------------------------------------------------------------------------


def _full_doc():
    return canonicalize_resource(copy.deepcopy(FULL_USER), USER_RESOURCE)


def test_attributes_keep_only_those_plus_always_returned():
    attributes = parse_attribute_list("userName,name.givenName,emails.value", USER_RESOURCE)
    rendered = _render_user(_full_doc(), attributes=attributes)
    assert rendered == {
        "schemas": [USER_URN],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara"},
        "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}],
    }


def test_attributes_with_extension_and_meta():
    attributes = parse_attribute_list(f"{ENT}:manager,meta", USER_RESOURCE)
    rendered = _render_user(_full_doc(), attributes=attributes)
    assert list(rendered) == ["schemas", "id", ENT, "meta"]
    assert rendered["schemas"] == [USER_URN, ENT]
    assert list(rendered[ENT]) == ["manager"]


def test_excluded_attributes():
    excluded = parse_attribute_list(
        f"emails,name.middleName,id,{ENT}:department,addresses.formatted", USER_RESOURCE
    )
    rendered = _render_user(_full_doc(), excluded=excluded)
    assert "emails" not in rendered
    assert "middleName" not in rendered["name"] and "givenName" in rendered["name"]
    assert rendered["id"] == "2819c223-7f76-453a-919d-413861904646"
    assert "department" not in rendered[ENT] and "costCenter" in rendered[ENT]
    assert all("formatted" not in a and "locality" in a for a in rendered["addresses"])
    assert "meta" in rendered


def test_excluding_the_whole_extension_drops_it_from_schemas():
    excluded = parse_attribute_list(ENT, USER_RESOURCE)
    rendered = _render_user(_full_doc(), excluded=excluded)
    assert ENT not in rendered and rendered["schemas"] == [USER_URN]


def test_password_is_never_returned_even_if_stored_or_requested():
    doc = {"userName": "u", "password": "secret"}
    attributes = parse_attribute_list("password,userName", USER_RESOURCE)
    assert "password" not in _render_user(doc)
    assert "password" not in _render_user(doc, attributes=attributes)
    assert "password" not in _render_user(doc, computed={"password": "x"})


def test_computed_attributes_are_merged_in_schema_order():
    doc = {"userName": "u", "x509Certificates": [{"value": "AAAA"}]}
    groups = [{"value": "g1", "$ref": "https://h/Groups/g1", "display": "Eng", "type": "direct"}]
    rendered = _render_user(doc, computed={"groups": groups})
    assert rendered["groups"] == groups
    assert list(rendered) == ["schemas", "id", "userName", "groups", "x509Certificates", "meta"]
    excluded = parse_attribute_list("groups", USER_RESOURCE)
    assert "groups" not in _render_user(doc, computed={"groups": groups}, excluded=excluded)


def test_group_members_excluded_as_entra_asks():
    doc = {"displayName": "Eng"}
    members = [{"value": "u1", "display": "One", "type": "User"}]
    meta = {"resourceType": "Group"}
    excluded = parse_attribute_list("members", GROUP_RESOURCE)
    rendered = render_resource(
        doc, GROUP_RESOURCE, resource_id="g", meta=meta, computed={"members": members}
    )
    assert rendered["members"] == members
    rendered = render_resource(
        doc,
        GROUP_RESOURCE,
        resource_id="g",
        meta=meta,
        computed={"members": members},
        excluded=excluded,
    )
    assert rendered == {"schemas": [GROUP_URN], "id": "g", "displayName": "Eng", "meta": meta}


def test_empty_values_are_not_rendered():
    rendered = render_resource(
        {"displayName": "g"}, GROUP_RESOURCE, resource_id="g", meta={}, computed={"members": []}
    )
    assert rendered == {"schemas": [GROUP_URN], "id": "g", "displayName": "g"}


def test_render_tolerates_non_canonical_paths_and_odd_documents():
    attributes = (AttrPath(None, "USERNAME"), AttrPath("urn:nope", "x"))
    rendered = _render_user(
        {"userName": "u", "name": "broken", ENT: "broken"}, attributes=attributes
    )
    assert rendered == {
        "schemas": [USER_URN],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "u",
    }


def test_request_returned_attributes_only_when_asked():
    from app.scim.schema_model import ResourceType, Schema

    schema = Schema(
        id="urn:example:Thing",
        name="Thing",
        description="",
        attributes=(
            Attribute(name="shown"),
            Attribute(name="hidden", returned="request"),
            Attribute(
                name="box",
                type="complex",
                sub_attributes=(Attribute(name="a"), Attribute(name="b", returned="request")),
            ),
        ),
    )
    rt = ResourceType(id="Thing", name="Thing", endpoint="/Things", description="", schema=schema)
    doc = {"shown": "1", "hidden": "2", "box": {"a": "x", "b": "y"}}
    assert render_resource(doc, rt, resource_id="t", meta={}) == {
        "schemas": ["urn:example:Thing"],
        "id": "t",
        "shown": "1",
        "box": {"a": "x"},
    }
    asked = parse_attribute_list("hidden,box.b", rt)
    assert render_resource(doc, rt, resource_id="t", meta={}, attributes=asked) == {
        "schemas": ["urn:example:Thing"],
        "id": "t",
        "hidden": "2",
        "box": {"b": "y"},
    }


# --- ETags ------------------------------------------------------------------------------------


def test_etags():
    assert etag_for(7) == 'W/"7"'
    assert parse_etag(etag_for(7)) == 7
    assert parse_etag('"12"') == 12
    assert parse_etag(' w/"3" ') == 3
    assert parse_etag("5") == 5
    for bad in ("*", 'W/"1", W/"2"', 'W/"abc"', "", "9" * 5000, None, 'W/"-1"', '"3', 'W/"١"'):
        assert parse_etag(bad) is None


# --- properties -------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_names = st.sampled_from(
    [
        "userName",
        "USERNAME",
        "name",
        "name.givenName",
        "emails",
        "active",
        "manager",
        "members",
        "displayName",
        "groups",
        "meta",
        "id",
        ENT,
        f"{ENT}:manager",
        f"{USER_URN}:emails",
        "x509Certificates",
        "addresses",
        "junk",
    ]
)
_bodies = st.builds(
    lambda name, extra: {"userName": name, "displayName": name, **extra},
    st.text(min_size=1, max_size=8),
    st.dictionaries(_names, _json, max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(body=_bodies, rt=st.sampled_from([USER_RESOURCE, GROUP_RESOURCE]))
def test_only_scim_errors_escape_and_canonical_documents_are_stable(body, rt):
    try:
        doc = canonicalize_resource(body, rt)
    except ScimError:
        return
    rendered = render_resource(doc, rt, resource_id="r", meta={"resourceType": rt.name})
    assert canonicalize_resource(rendered, rt) == doc


@settings(max_examples=200, deadline=None)
@given(value=_json)
def test_coerce_value_only_raises_scim_errors(value):
    for attribute in (*USER_SCHEMA.attributes, *ENTERPRISE_USER_SCHEMA.attributes):
        with contextlib.suppress(ScimError):
            coerce_value(attribute, value, where=attribute.name)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40) | st.lists(st.text(max_size=20), max_size=3))
def test_parse_attribute_list_never_raises(text):
    for path in parse_attribute_list(text, USER_RESOURCE):
        assert USER_RESOURCE.canonical(path) == path


# --- the default rendering plan -------------------------------------------------------------

_odd_values = st.sampled_from([None, [], {}, "x", 0, False, [None], ["x"], [{}], {"value": None}])


def draw_odd_document(data, *, without: tuple[str, ...] = ()):
    """(resource type, canonical document) of a full user or group with some attributes removed
    and others set to odd values (missing, empty, null, odd elements); `without` is dropped."""
    resource, body = data.draw(
        st.sampled_from([(USER_RESOURCE, FULL_USER), (GROUP_RESOURCE, _GROUP_BODY)])
    )
    doc = canonicalize_resource(copy.deepcopy(body), resource)
    for name in without:
        doc.pop(name, None)
    for key in data.draw(st.lists(st.sampled_from(sorted(doc)), unique=True)):
        if data.draw(st.booleans()):
            del doc[key]
        else:
            doc[key] = data.draw(_odd_values)
    if isinstance(doc.get(ENT), dict) and doc[ENT]:
        for key in data.draw(st.lists(st.sampled_from(sorted(doc[ENT])), unique=True)):
            doc[ENT][key] = data.draw(_odd_values)
    return resource, doc


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_default_rendering_matches_the_attribute_by_attribute_rules(data):
    """The plan behind every unprojected response shows exactly what the general rules show,
    whatever the stored document holds (missing, empty, null, odd elements)."""
    from app.scim.rendering import _render_default, _render_projected

    resource, doc = draw_odd_document(data)
    args = (doc, resource, "2819c223", USER_META)
    assert _render_default(*args) == _render_projected(*args, (), ())
    assert list(_render_default(*args)) == list(_render_projected(*args, (), ()))


_GROUP_BODY = {
    "schemas": [GROUP_URN],
    "externalId": "e-1",
    "displayName": "Tour Guides",
    "members": [{"value": "u1", "type": "User"}, {"value": "g2", "type": "Group"}],
}
