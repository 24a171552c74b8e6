"""Schema definitions (RFC 7643 §4, §8.7) and discovery documents (RFC 7644 §4)."""

from __future__ import annotations

import json

import orjson
import pytest
import scim2_models
from hypothesis import given
from hypothesis import strategies as st
from scim2_models import Context, ScimProvider

from app.scim.ast import AttrPath
from app.scim.discovery import (
    Capabilities,
    attribute_document,
    list_response,
    list_response_json,
    resource_type_document,
    schema_document,
    service_provider_config_document,
)
from app.scim.schemas import (
    COMMON_ATTRIBUTES,
    ENTERPRISE_USER_SCHEMA,
    ENTERPRISE_USER_URN,
    GROUP_RESOURCE,
    GROUP_SCHEMA,
    RESOURCE_TYPES,
    SCHEMAS,
    USER_RESOURCE,
    USER_SCHEMA,
    resource_type_by_endpoint,
    resource_type_by_id,
    schema_by_id,
)

BASE_URL = "https://scim.example.test/scim/v2"
CAPS = Capabilities(
    bulk_supported=False,
    bulk_max_operations=0,
    bulk_max_payload_size=1_048_576,
    filter_max_results=200,
    default_page_size=100,
)
RESPONSE = Context.RESOURCE_QUERY_RESPONSE


def _names(attributes) -> list[str]:
    return [a.name for a in attributes]


def test_user_schema_lists_the_rfc_attributes_in_order():
    assert _names(USER_SCHEMA.attributes) == [
        "userName",
        "name",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "password",
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509Certificates",
    ]


def test_user_name_is_required_unique_and_case_insensitive():
    user_name = USER_SCHEMA.attribute("USERNAME")
    assert (user_name.required, user_name.case_exact, user_name.uniqueness) == (
        True,
        False,
        "server",
    )
    assert user_name.mutability == "readWrite"


def test_password_is_write_only_and_never_returned():
    password = USER_SCHEMA.attribute("password")
    assert (password.mutability, password.returned) == ("writeOnly", "never")


def test_multi_valued_attributes_carry_value_display_type_primary():
    for name in ("emails", "phoneNumbers", "ims", "photos", "entitlements", "roles"):
        attribute = USER_SCHEMA.attribute(name)
        assert attribute.multi_valued and attribute.type == "complex"
        assert _names(attribute.sub_attributes) == ["value", "display", "type", "primary"]
    assert USER_SCHEMA.attribute("emails").sub("type").canonical_values == ("work", "home", "other")
    assert USER_SCHEMA.attribute("photos").sub("value").type == "reference"
    assert USER_SCHEMA.attribute("x509Certificates").sub("value").type == "binary"


def test_addresses_name_and_profile_url():
    assert _names(USER_SCHEMA.attribute("addresses").sub_attributes) == [
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
        "type",
        "primary",
    ]
    assert _names(USER_SCHEMA.attribute("name").sub_attributes) == [
        "formatted",
        "familyName",
        "givenName",
        "middleName",
        "honorificPrefix",
        "honorificSuffix",
    ]
    profile_url = USER_SCHEMA.attribute("profileUrl")
    assert (profile_url.type, profile_url.reference_types) == ("reference", ("external",))
    assert USER_SCHEMA.attribute("active").type == "boolean"


def test_user_groups_are_read_only_through_and_through():
    groups = USER_SCHEMA.attribute("groups")
    assert groups.mutability == "readOnly"
    assert _names(groups.sub_attributes) == ["value", "$ref", "display", "type"]
    assert all(sub.mutability == "readOnly" for sub in groups.sub_attributes)
    assert groups.sub("$REF").reference_types == ("User", "Group")


def test_enterprise_extension():
    assert _names(ENTERPRISE_USER_SCHEMA.attributes) == [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    ]
    manager = ENTERPRISE_USER_SCHEMA.attribute("manager")
    assert _names(manager.sub_attributes) == ["value", "$ref", "displayName"]
    assert manager.sub("displayName").mutability == "readOnly"
    assert manager.sub("$ref").reference_types == ("User",)


def test_group_schema():
    display_name = GROUP_SCHEMA.attribute("displayName")
    assert (display_name.required, display_name.uniqueness) == (True, "server")
    members = GROUP_SCHEMA.attribute("members")
    assert members.multi_valued and members.mutability == "readWrite"
    assert {s.name: s.mutability for s in members.sub_attributes} == {
        "value": "immutable",
        "$ref": "immutable",
        "display": "readOnly",
        "type": "immutable",
    }
    assert members.sub("type").canonical_values == ("User", "Group")


def test_common_attributes():
    by_name = {a.name: a for a in COMMON_ATTRIBUTES}
    assert (by_name["id"].returned, by_name["id"].mutability, by_name["id"].case_exact) == (
        "always",
        "readOnly",
        True,
    )
    assert by_name["externalId"].case_exact and by_name["externalId"].mutability == "readWrite"
    meta = by_name["meta"]
    assert meta.mutability == "readOnly"
    assert {s.name: s.type for s in meta.sub_attributes} == {
        "resourceType": "string",
        "created": "dateTime",
        "lastModified": "dateTime",
        "location": "reference",
        "version": "string",
    }
    for rt in RESOURCE_TYPES:
        assert rt.common_attribute("EXTERNALID") is by_name["externalId"]


def test_resolution_through_resource_types():
    assert USER_RESOURCE.canonical(AttrPath(None, "DEPARTMENT")) == AttrPath(
        ENTERPRISE_USER_URN, "department"
    )
    assert GROUP_RESOURCE.canonical(AttrPath(None, "members", "VALUE")).sub == "value"


def test_lookups():
    assert resource_type_by_endpoint("/Users") is USER_RESOURCE
    assert resource_type_by_endpoint("groups") is GROUP_RESOURCE
    assert resource_type_by_endpoint("/Pets") is None
    assert resource_type_by_id("user") is USER_RESOURCE
    assert resource_type_by_id("nope") is None
    assert schema_by_id(ENTERPRISE_USER_URN.upper()) is ENTERPRISE_USER_SCHEMA
    assert schema_by_id("urn:nope") is None


def test_no_duplicate_names_anywhere():
    for schema in SCHEMAS:
        names = [a.name.lower() for a in schema.attributes]
        assert len(names) == len(set(names))
        for attribute in schema.attributes:
            subs = [s.name.lower() for s in attribute.sub_attributes]
            assert len(subs) == len(set(subs))
            assert bool(subs) == (attribute.type == "complex")


def test_service_provider_config_is_truthful():
    document = service_provider_config_document(CAPS, BASE_URL + "/")
    assert document["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert document["patch"] == {"supported": True}
    assert document["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 1_048_576}
    assert document["filter"] == {"supported": True, "maxResults": 200}
    assert document["changePassword"] == {"supported": False}
    assert document["sort"] == {"supported": True}
    assert document["etag"] == {"supported": True}
    (scheme,) = document["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken" and scheme["primary"] is True
    assert scheme["specUri"] == "https://www.rfc-editor.org/info/rfc6750"
    assert document["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": BASE_URL + "/ServiceProviderConfig",
    }
    assert "documentationUri" not in document
    with_docs = Capabilities(
        bulk_supported=True,
        bulk_max_operations=10,
        bulk_max_payload_size=1,
        filter_max_results=1,
        default_page_size=1,
        documentation_uri="https://docs.example.test/scim",
    )
    assert (
        service_provider_config_document(with_docs, BASE_URL)["documentationUri"]
        == "https://docs.example.test/scim"
    )


def test_resource_type_documents():
    user = resource_type_document(USER_RESOURCE, BASE_URL)
    assert user == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
        "schemaExtensions": [{"schema": ENTERPRISE_USER_URN, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": BASE_URL + "/ResourceTypes/User"},
    }
    group = resource_type_document(GROUP_RESOURCE, BASE_URL)
    assert group["schema"] == "urn:ietf:params:scim:schemas:core:2.0:Group"
    assert "schemaExtensions" not in group


def test_schema_document_matches_rfc_json_form():
    document = schema_document(USER_SCHEMA, BASE_URL)
    assert document["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    assert document["meta"] == {
        "resourceType": "Schema",
        "location": f"{BASE_URL}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
    }
    attributes = {a["name"]: a for a in document["attributes"]}
    assert "id" not in attributes and "meta" not in attributes
    assert attributes["userName"] == {
        "name": "userName",
        "type": "string",
        "multiValued": False,
        "description": USER_SCHEMA.attribute("userName").description,
        "required": True,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "server",
    }
    emails = attributes["emails"]
    assert emails["multiValued"] is True
    assert [s["name"] for s in emails["subAttributes"]] == ["value", "display", "type", "primary"]
    assert emails["subAttributes"][2]["canonicalValues"] == ["work", "home", "other"]
    assert "canonicalValues" not in emails["subAttributes"][0]
    assert attributes["profileUrl"]["referenceTypes"] == ["external"]
    assert "referenceTypes" not in attributes["userName"]
    assert "subAttributes" not in attributes["userName"]
    json.dumps(document)


def test_member_ref_document_lists_its_reference_types():
    ref = GROUP_SCHEMA.attribute("members").sub("$ref")
    assert attribute_document(ref)["referenceTypes"] == ["User", "Group"]


def test_list_response_envelope_and_key_order():
    envelope = list_response([{"id": "a"}, {"id": "b"}], 7, 3)
    assert list(envelope) == ["schemas", "totalResults", "itemsPerPage", "startIndex", "Resources"]
    assert envelope["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (envelope["totalResults"], envelope["itemsPerPage"], envelope["startIndex"]) == (7, 2, 3)
    assert list_response([], 0, 1)["Resources"] == []


@given(
    st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3), max_size=4),
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=1, max_value=10**12),
)
def test_the_list_response_from_stored_json_is_the_bytes_orjson_gives(resources, total, start):
    """The envelope written directly around resources already in JSON (the stored-page path)."""
    expected = orjson.dumps(list_response(resources, total, start))
    assert list_response_json([orjson.dumps(r) for r in resources], total, start) == expected


# scim2-tester builds its client's view of the server from these three documents with
# scim2_models; any validation error there fails the whole conformance run.


def _discovered() -> ScimProvider:
    config = scim2_models.ServiceProviderConfig.model_validate(
        service_provider_config_document(CAPS, BASE_URL), scim_ctx=RESPONSE
    )
    schemas = [
        scim2_models.Schema.model_validate(schema_document(s, BASE_URL), scim_ctx=RESPONSE)
        for s in SCHEMAS
    ]
    resource_types = [
        scim2_models.ResourceType.model_validate(
            resource_type_document(rt, BASE_URL), scim_ctx=RESPONSE
        )
        for rt in RESOURCE_TYPES
    ]
    return ScimProvider.from_discovery(schemas, resource_types, config)


def test_service_provider_config_parses_with_scim2_models():
    config = scim2_models.ServiceProviderConfig.model_validate(
        service_provider_config_document(CAPS, BASE_URL), scim_ctx=RESPONSE
    )
    assert config.patch.supported is True
    assert config.filter.max_results == 200
    assert config.authentication_schemes[0].type == "oauthbearertoken"


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.name)
def test_schema_documents_parse_with_scim2_models(schema):
    parsed = scim2_models.Schema.model_validate(
        schema_document(schema, BASE_URL), scim_ctx=RESPONSE
    )
    assert parsed.id == schema.id
    assert [a.name for a in parsed.attributes] == _names(schema.attributes)
    list_body = list_response([schema_document(s, BASE_URL) for s in SCHEMAS], len(SCHEMAS), 1)
    listed = scim2_models.ListResponse[scim2_models.Schema].model_validate(
        list_body, scim_ctx=RESPONSE
    )
    assert listed.total_results == len(SCHEMAS)


@pytest.mark.parametrize("rt", RESOURCE_TYPES, ids=lambda rt: rt.name)
def test_resource_type_documents_parse_with_scim2_models(rt):
    parsed = scim2_models.ResourceType.model_validate(
        resource_type_document(rt, BASE_URL), scim_ctx=RESPONSE
    )
    assert (parsed.id, parsed.endpoint, parsed.schema_) == (rt.id, rt.endpoint, rt.schema.id)


def test_scim2_models_composes_resource_models_from_our_discovery():
    provider = _discovered()
    user_model = provider.model_for("User")
    group_model = provider.model_for("Group")
    assert user_model is not None and group_model is not None
    assert provider.model_for_endpoint("/Groups") is group_model
