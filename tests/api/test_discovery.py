"""Discovery endpoints through the live server (RFC 7644 §4, RFC 7643 §5–7), on both
backends: what they publish is true of this server, and every other method or URL under
/scim/v2 is a SCIM error."""

from __future__ import annotations

import pytest
import scim2_models

from tests.support.scim_data import (
    ENTERPRISE_URN,
    LIST_URN,
    SEARCH_URN,
    USER_URN,
    assert_scim_error,
    user_body,
)

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
RESPONSE = scim2_models.Context.RESOURCE_QUERY_RESPONSE


async def test_service_provider_config_is_truthful(scim, server):
    response = await scim.get("/ServiceProviderConfig")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/scim+json")
    config = response.json
    parsed = scim2_models.ServiceProviderConfig.model_validate(config, scim_ctx=RESPONSE)
    assert parsed.patch.supported is True
    assert config["meta"]["location"] == f"{server.scim_url}/ServiceProviderConfig"
    assert config["filter"] == {"supported": True, "maxResults": server.settings.max_page_size}
    assert config["pagination"]["maxPageSize"] == server.settings.max_page_size
    assert config["pagination"]["defaultPageSize"] == server.settings.default_page_size
    assert [s["type"] for s in config["authenticationSchemes"]] == ["oauthbearertoken"]
    assert config["changePassword"] == {"supported": False}

    # patch, sort and etag, as advertised
    created = (await scim.post("/Users", user_body())).json
    patched = await scim.patch(
        f"/Users/{created['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "title", "value": "x"}],
        },
    )
    assert patched.status == 200
    assert config["etag"]["supported"] is True and patched.headers["ETag"]
    assert config["sort"]["supported"] is True
    assert (await scim.get("/Users", params={"sortBy": "userName"})).status == 200
    bulk = await scim.post(
        "/Bulk",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []},
    )
    if config["bulk"]["supported"]:
        assert bulk.status not in (404, 405, 501), bulk
        assert config["bulk"]["maxOperations"] > 0 and config["bulk"]["maxPayloadSize"] > 0
    else:
        assert bulk.status in (404, 501), bulk


async def test_resource_types(scim, server):
    response = await scim.get("/ResourceTypes")
    assert response.status == 200
    listing = response.json
    assert listing["schemas"] == [LIST_URN]
    assert listing["totalResults"] == listing["itemsPerPage"] == 2
    by_id = {rt["id"]: rt for rt in listing["Resources"]}
    assert by_id["User"]["endpoint"] == "/Users" and by_id["User"]["schema"] == USER_URN
    assert by_id["User"]["schemaExtensions"] == [{"schema": ENTERPRISE_URN, "required": False}]
    assert by_id["Group"]["endpoint"] == "/Groups" and by_id["Group"]["schema"] == GROUP_URN
    for rt_id, document in by_id.items():
        scim2_models.ResourceType.model_validate(document, scim_ctx=RESPONSE)
        assert document["meta"]["location"] == f"{server.scim_url}/ResourceTypes/{rt_id}"
        single = await scim.get(f"/ResourceTypes/{rt_id}")
        assert single.status == 200 and single.json == document
    assert_scim_error(await scim.get("/ResourceTypes/Printer"), 404)


async def test_schemas(scim, server):
    response = await scim.get("/Schemas")
    assert response.status == 200
    listing = response.json
    assert listing["totalResults"] == 3
    by_id = {schema["id"]: schema for schema in listing["Resources"]}
    assert set(by_id) == {USER_URN, ENTERPRISE_URN, GROUP_URN}
    for urn, document in by_id.items():
        scim2_models.Schema.model_validate(document, scim_ctx=RESPONSE)
        assert document["meta"]["location"] == f"{server.scim_url}/Schemas/{urn}"
        single = await scim.get(f"/Schemas/{urn}")
        assert single.status == 200 and single.json == document
    user = {a["name"]: a for a in by_id[USER_URN]["attributes"]}
    assert user["userName"]["required"] is True and user["userName"]["caseExact"] is False
    assert user["userName"]["uniqueness"] == "server"
    assert user["password"]["returned"] == "never" and user["password"]["mutability"] == "writeOnly"
    assert user["groups"]["mutability"] == "readOnly"
    assert_scim_error(await scim.get("/Schemas/urn:example:nothing"), 404)


async def test_schemas_describe_what_the_server_accepts(scim):
    """Every attribute a Schema lists can be written (unless readOnly) and filtered on."""
    schemas = {s["id"]: s for s in (await scim.get("/Schemas")).json["Resources"]}
    for urn in (USER_URN, ENTERPRISE_URN):
        for attribute in schemas[urn]["attributes"]:
            name = attribute["name"] if urn == USER_URN else f"{urn}:{attribute['name']}"
            if attribute["type"] == "complex":
                sub = attribute["subAttributes"][0]["name"]
                text = f"{name}.{sub} pr"
            else:
                text = f"{name} pr"
            response = await scim.get("/Users", params={"filter": text, "count": "0"})
            assert response.status == 200, (text, response)


METHOD_NOT_ALLOWED = [
    ("DELETE", "/ServiceProviderConfig"),
    ("POST", "/ServiceProviderConfig"),
    ("PUT", "/Schemas"),
    ("DELETE", f"/Schemas/{USER_URN}"),
    ("PATCH", "/ResourceTypes/User"),
    ("PUT", "/Users"),
    ("DELETE", "/Users"),
    ("PATCH", "/Groups"),
    ("POST", "/Users/some-id"),
    ("GET", "/.search"),
    ("GET", "/Users/.search"),
]


@pytest.mark.parametrize(("method", "path"), METHOD_NOT_ALLOWED)
async def test_other_methods_are_405_with_allow(scim, method, path):
    response = await scim.request(method, path, json={"schemas": [SEARCH_URN]})
    assert_scim_error(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed and method not in allowed


@pytest.mark.parametrize(
    "path",
    ["/Nothing", "/Users/abc/extra", "/", "", "/users-x", "/Schemas/a/b", "/v1/Users"],
)
async def test_unknown_urls_are_scim_404(scim, path):
    assert_scim_error(await scim.get(path), 404)
    assert_scim_error(await scim.post(path, {"a": 1}), 404)
