"""Attribute and schema definitions (RFC 7643 §2.2, §7) and name resolution against them.

SCIM attribute names are case-insensitive (RFC 7643 §2.1); every lookup here is, and returns
the canonical spelling so the rest of the code compares canonical names only.
"""

from __future__ import annotations

from attrs import field, frozen

from app.scim.ast import AttrPath
from app.scim.errors import ScimError


@frozen
class Attribute:
    name: str
    type: str = "string"  # string boolean decimal integer dateTime reference binary complex
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly readWrite immutable writeOnly
    returned: str = "default"  # always never default request
    uniqueness: str = "none"  # none server global
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()

    def sub(self, name: str) -> Attribute | None:
        lowered = name.lower()
        for candidate in self.sub_attributes:
            if candidate.name.lower() == lowered:
                return candidate
        return None


@frozen
class Schema:
    id: str  # the URN
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _by_lower: dict = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_lower", {a.name.lower(): a for a in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        return self._by_lower.get(name.lower())


@frozen
class ResourceType:
    """A resource type with its core schema and extensions (RFC 7643 §6)."""

    id: str  # "User"
    name: str
    endpoint: str  # "/Users"
    description: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()
    # `id`, `externalId` and `meta` (RFC 7643 §3.1): common to every resource, not published
    # in the Schemas documents, resolved as if they were core attributes.
    common_attributes: tuple[Attribute, ...] = ()
    _ext_by_lower: dict = field(init=False, eq=False, repr=False)
    _common_by_lower: dict = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_ext_by_lower", {s.id.lower(): s for s in self.extensions})
        object.__setattr__(
            self, "_common_by_lower", {a.name.lower(): a for a in self.common_attributes}
        )

    def common_attribute(self, name: str) -> Attribute | None:
        return self._common_by_lower.get(name.lower())

    def schema_for_uri(self, uri: str) -> Schema | None:
        if uri.lower() == self.schema.id.lower():
            return self.schema
        return self._ext_by_lower.get(uri.lower())

    @property
    def all_schemas(self) -> tuple[Schema, ...]:
        return (self.schema, *self.extensions)

    def resolve(self, path: AttrPath) -> tuple[Schema, Attribute, Attribute | None]:
        """Resolve a (possibly URN-qualified, any-case) attribute path.

        Raises ScimError(400, invalidPath) when no such attribute exists; callers that parse a
        filter turn that into invalidFilter.
        """
        if path.uri is not None:
            schema = self.schema_for_uri(path.uri)
            if schema is None:
                raise ScimError(400, f"unknown schema {path.uri!r}", "invalidPath")
            attribute = schema.attribute(path.attr)
            if attribute is None and schema is self.schema:
                attribute = self.common_attribute(path.attr)
        else:
            schema = self.schema
            attribute = schema.attribute(path.attr) or self.common_attribute(path.attr)
            if attribute is None:
                for extension in self.extensions:
                    attribute = extension.attribute(path.attr)
                    if attribute is not None:
                        schema = extension
                        break
        if attribute is None:
            raise ScimError(400, f"unknown attribute {str(path)!r}", "invalidPath")
        sub = None
        if path.sub is not None:
            sub = attribute.sub(path.sub)
            if sub is None:
                raise ScimError(400, f"unknown attribute {str(path)!r}", "invalidPath")
        return schema, attribute, sub

    def canonical(self, path: AttrPath) -> AttrPath:
        """The same path with the canonical schema URN and canonical attribute names."""
        schema, attribute, sub = self.resolve(path)
        return AttrPath(schema.id, attribute.name, sub.name if sub else None)
