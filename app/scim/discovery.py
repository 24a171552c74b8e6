"""Discovery documents: ServiceProviderConfig, ResourceTypes, Schemas (RFC 7644 §4, RFC 7643 §5-7).

Plain dicts, ready to be serialised; the web layer serves them unfiltered and unpaged.
"""

from __future__ import annotations

from attrs import frozen

from app.scim.schema_model import Attribute, ResourceType, Schema

SERVICE_PROVIDER_CONFIG_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@frozen(kw_only=True)
class Capabilities:
    """What this deployment supports, published truthfully in the ServiceProviderConfig."""

    patch: bool = True
    bulk_supported: bool
    bulk_max_operations: int
    bulk_max_payload_size: int
    filter_max_results: int
    default_page_size: int
    sort: bool = True
    etag: bool = True
    change_password: bool = False
    documentation_uri: str | None = None


def service_provider_config_document(caps: Capabilities, base_url: str) -> dict:
    """RFC 7643 §5, with the RFC 9865 §4 `pagination` object: index paging only, the default
    page size, and the largest page (`filter_max_results`: a larger `count` is cut to it)."""
    document: dict = {"schemas": [SERVICE_PROVIDER_CONFIG_URN]}
    if caps.documentation_uri:
        document["documentationUri"] = caps.documentation_uri
    document.update(
        {
            "patch": {"supported": caps.patch},
            "bulk": {
                "supported": caps.bulk_supported,
                "maxOperations": caps.bulk_max_operations,
                "maxPayloadSize": caps.bulk_max_payload_size,
            },
            "filter": {"supported": True, "maxResults": caps.filter_max_results},
            "pagination": {
                "cursor": False,
                "index": True,
                "defaultPaginationMethod": "index",
                "defaultPageSize": caps.default_page_size,
                "maxPageSize": caps.filter_max_results,
            },
            "changePassword": {"supported": caps.change_password},
            "sort": {"supported": caps.sort},
            "etag": {"supported": caps.etag},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "Authentication with a bearer token in the Authorization "
                    "header (RFC 6750).",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750",
                    "primary": True,
                }
            ],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": _join(base_url, "ServiceProviderConfig"),
            },
        }
    )
    return document


def resource_type_document(rt: ResourceType, base_url: str) -> dict:
    """RFC 7643 §6. Extensions are optional (`required: false`) for every resource type."""
    document: dict = {
        "schemas": [RESOURCE_TYPE_URN],
        "id": rt.id,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.description,
        "schema": rt.schema.id,
    }
    if rt.extensions:
        document["schemaExtensions"] = [
            {"schema": extension.id, "required": False} for extension in rt.extensions
        ]
    document["meta"] = {
        "resourceType": "ResourceType",
        "location": _join(base_url, f"ResourceTypes/{rt.id}"),
    }
    return document


def schema_document(schema: Schema, base_url: str) -> dict:
    """RFC 7643 §7: every attribute with all its qualities, as in the §8.7 listings."""
    return {
        "schemas": [SCHEMA_URN],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": [attribute_document(attribute) for attribute in schema.attributes],
        "meta": {"resourceType": "Schema", "location": _join(base_url, f"Schemas/{schema.id}")},
    }


def attribute_document(attribute: Attribute) -> dict:
    """One attribute definition in RFC 7643 §7 JSON form."""
    document: dict = {"name": attribute.name, "type": attribute.type}
    if attribute.type == "complex":
        document["subAttributes"] = [attribute_document(sub) for sub in attribute.sub_attributes]
    document.update(
        {
            "multiValued": attribute.multi_valued,
            "description": attribute.description,
            "required": attribute.required,
        }
    )
    if attribute.canonical_values:
        document["canonicalValues"] = list(attribute.canonical_values)
    document.update(
        {
            "caseExact": attribute.case_exact,
            "mutability": attribute.mutability,
            "returned": attribute.returned,
            "uniqueness": attribute.uniqueness,
        }
    )
    if attribute.type == "reference":
        document["referenceTypes"] = list(attribute.reference_types)
    return document


def list_response(resources: list[dict], total: int, start_index: int) -> dict:
    """The ListResponse envelope (RFC 7644 §3.4.2), integer counts, in the RFC's key order."""
    return {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start_index,
        "Resources": list(resources),
    }


_LIST_RESPONSE_HEAD = b'{"schemas":["' + LIST_RESPONSE_URN.encode() + b'"],"totalResults":'


def list_response_json(resources: list[bytes], total: int, start_index: int) -> bytes:
    """`list_response` as JSON, from resources already in JSON: the bytes orjson gives it
    (the envelope holds only integers besides its fixed head, so it is written directly)."""
    return b'%s%d,"itemsPerPage":%d,"startIndex":%d,"Resources":[%s]}' % (
        _LIST_RESPONSE_HEAD,
        total,
        len(resources),
        start_index,
        b",".join(resources),
    )


def _join(base_url: str, relative: str) -> str:
    return f"{base_url.rstrip('/')}/{relative}"
