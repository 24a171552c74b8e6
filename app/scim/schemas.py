"""The schemas and resource types this server publishes (RFC 7643 §3.1, §4, §6, §8.7).

Definitions follow RFC 7643 §8.7.1 attribute by attribute. Where this server is stricter or
the RFC text and its schema listing disagree, the choice is noted next to the definition.
"""

from __future__ import annotations

from app.scim.schema_model import Attribute, ResourceType, Schema

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"

_PRIMARY_DESCRIPTION = (
    "A Boolean value indicating the 'primary' or preferred attribute value for this "
    "attribute.  The primary attribute value 'true' MUST appear no more than once."
)
_DISPLAY_DESCRIPTION = "A human-readable name, primarily used for display purposes.  READ-ONLY."


def _string(name: str, description: str, **qualities) -> Attribute:
    return Attribute(name=name, type="string", description=description, **qualities)


def _multi_valued(
    name: str,
    description: str,
    value: Attribute,
    type_values: tuple[str, ...] = (),
    type_description: str = "A label indicating the attribute's function, e.g., 'work' or 'home'.",
) -> Attribute:
    """The RFC 7643 §2.4 shape: value, display, type and primary sub-attributes."""
    return Attribute(
        name=name,
        type="complex",
        multi_valued=True,
        description=description,
        sub_attributes=(
            value,
            _string("display", _DISPLAY_DESCRIPTION),
            _string("type", type_description, canonical_values=type_values),
            Attribute(name="primary", type="boolean", description=_PRIMARY_DESCRIPTION),
        ),
    )


NAME = Attribute(
    name="name",
    type="complex",
    description=(
        "The components of the user's real name.  Providers MAY return just the full name as a "
        "single string in the formatted sub-attribute, or they MAY return just the individual "
        "component attributes using the other sub-attributes, or they MAY return both.  If both "
        "variants are returned, they SHOULD be describing the same name, with the formatted name "
        "indicating how the component attributes should be combined."
    ),
    sub_attributes=(
        _string(
            "formatted",
            "The full name, including all middle names, titles, and suffixes as appropriate, "
            "formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
        ),
        _string(
            "familyName",
            "The family name of the User, or last name in most Western languages (e.g., "
            "'Jensen' given the full name 'Ms. Barbara J Jensen, III').",
        ),
        _string(
            "givenName",
            "The given name of the User, or first name in most Western languages (e.g., "
            "'Barbara' given the full name 'Ms. Barbara J Jensen, III').",
        ),
        _string(
            "middleName",
            "The middle name(s) of the User (e.g., 'Jane' given the full name "
            "'Ms. Barbara J Jensen, III').",
        ),
        _string(
            "honorificPrefix",
            "The honorific prefix(es) of the User, or title in most Western languages (e.g., "
            "'Ms.' given the full name 'Ms. Barbara J Jensen, III').",
        ),
        _string(
            "honorificSuffix",
            "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., "
            "'III' given the full name 'Ms. Barbara J Jensen, III').",
        ),
    ),
)

_ADDRESS_TYPES = ("work", "home", "other")

ADDRESSES = Attribute(
    name="addresses",
    type="complex",
    multi_valued=True,
    description=(
        "A physical mailing address for this User.  Canonical type values of 'work', 'home', "
        "and 'other'.  This attribute is a complex type with the following sub-attributes."
    ),
    # RFC 7643 §8.7.1 lists no `primary` here, but §4.1.2 and the §8.2 example use it.
    sub_attributes=(
        _string(
            "formatted",
            "The full mailing address, formatted for display or use with a mailing label.  "
            "This attribute MAY contain newlines.",
        ),
        _string(
            "streetAddress",
            "The full street address component, which may include house number, street name, "
            "P.O. box, and multi-line extended street address information.  This attribute MAY "
            "contain newlines.",
        ),
        _string("locality", "The city or locality component."),
        _string("region", "The state or region component."),
        _string("postalCode", "The zip code or postal code component."),
        _string("country", "The country name component."),
        _string(
            "type",
            "A label indicating the attribute's function, e.g., 'work' or 'home'.",
            canonical_values=_ADDRESS_TYPES,
        ),
        Attribute(name="primary", type="boolean", description=_PRIMARY_DESCRIPTION),
    ),
)

_READ_ONLY = {"mutability": "readOnly"}

USER_GROUPS = Attribute(
    name="groups",
    type="complex",
    multi_valued=True,
    description=(
        "A list of groups to which the user belongs, either through direct membership, through "
        "nested groups, or dynamically calculated."
    ),
    mutability="readOnly",
    sub_attributes=(
        _string("value", "The identifier of the User's group.", **_READ_ONLY),
        Attribute(
            name="$ref",
            type="reference",
            description="The URI of the corresponding 'Group' resource to which the user belongs.",
            reference_types=("User", "Group"),
            **_READ_ONLY,
        ),
        _string("display", _DISPLAY_DESCRIPTION, **_READ_ONLY),
        _string(
            "type",
            "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
            canonical_values=("direct", "indirect"),
            **_READ_ONLY,
        ),
    ),
)

USER_SCHEMA = Schema(
    id=USER_URN,
    name="User",
    description="User Account",
    attributes=(
        _string(
            "userName",
            "Unique identifier for the User, typically used by the user to directly authenticate "
            "to the service provider.  Each User MUST include a non-empty userName value.  This "
            "identifier MUST be unique across the service provider's entire set of Users.  "
            "REQUIRED.",
            required=True,
            uniqueness="server",
        ),
        NAME,
        _string(
            "displayName",
            "The name of the User, suitable for display to end-users.  The name SHOULD be the "
            "full name of the User being described, if known.",
        ),
        _string(
            "nickName",
            "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of "
            "'Robert'.  This attribute SHOULD NOT be used to represent a User's username (e.g., "
            "'bjensen' or 'mpepperidge').",
        ),
        Attribute(
            name="profileUrl",
            type="reference",
            description=(
                "A fully qualified URL pointing to a page representing the User's online profile."
            ),
            reference_types=("external",),
        ),
        _string("title", 'The user\'s title, such as "Vice President."'),
        _string(
            "userType",
            "Used to identify the relationship between the organization and the user.  Typical "
            "values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and "
            "'Unknown', but any value may be used.",
        ),
        _string(
            "preferredLanguage",
            "Indicates the User's preferred written or spoken language.  Generally used for "
            "selecting a localized user interface; e.g., 'en_US' specifies the language English "
            "and country US.",
        ),
        _string(
            "locale",
            "Used to indicate the User's default location for purposes of localizing items such "
            "as currency, date time format, or numerical representations.",
        ),
        _string(
            "timezone",
            "The User's time zone in the 'Olson' time zone database format, e.g., "
            "'America/Los_Angeles'.",
        ),
        Attribute(
            name="active",
            type="boolean",
            description="A Boolean value indicating the User's administrative status.",
        ),
        _string(
            "password",
            "The User's cleartext password.  This attribute is intended to be used as a means to "
            "specify an initial password when creating a new User or to reset an existing User's "
            "password.",
            mutability="writeOnly",
            returned="never",
        ),
        _multi_valued(
            "emails",
            "Email addresses for the user.  The value SHOULD be canonicalized by the service "
            "provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'.  Canonical "
            "type values of 'work', 'home', and 'other'.",
            _string(
                "value",
                "Email addresses for the user.  The value SHOULD be canonicalized by the service "
                "provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'.  "
                "Canonical type values of 'work', 'home', and 'other'.",
            ),
            ("work", "home", "other"),
        ),
        _multi_valued(
            "phoneNumbers",
            "Phone numbers for the User.  The value SHOULD be canonicalized by the service "
            "provider according to the format specified in RFC 3966, e.g., "
            "'tel:+1-201-555-0123'.  Canonical type values of 'work', 'home', 'mobile', 'fax', "
            "'pager', and 'other'.",
            _string("value", "Phone number of the User."),
            ("work", "home", "mobile", "fax", "pager", "other"),
            "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
        ),
        _multi_valued(
            "ims",
            "Instant messaging addresses for the User.",
            _string("value", "Instant messaging address for the User."),
            ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
            "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
        ),
        _multi_valued(
            "photos",
            "URLs of photos of the User.",
            Attribute(
                name="value",
                type="reference",
                description="URL of a photo of the User.",
                reference_types=("external",),
            ),
            ("photo", "thumbnail"),
            "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
        ),
        ADDRESSES,
        USER_GROUPS,
        _multi_valued(
            "entitlements",
            "A list of entitlements for the User that represent a thing the User has.",
            _string("value", "The value of an entitlement."),
            type_description="A label indicating the attribute's function.",
        ),
        _multi_valued(
            "roles",
            "A list of roles for the User that collectively represent who the User is, e.g., "
            "'Student', 'Faculty'.",
            _string("value", "The value of a role."),
            type_description="A label indicating the attribute's function.",
        ),
        _multi_valued(
            "x509Certificates",
            "A list of certificates issued to the User.",
            Attribute(
                name="value", type="binary", description="The value of an X.509 certificate."
            ),
            type_description="A label indicating the attribute's function.",
        ),
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    id=ENTERPRISE_USER_URN,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        _string(
            "employeeNumber",
            "Numeric or alphanumeric identifier assigned to a person, typically based on order "
            "of hire or association with an organization.",
        ),
        _string("costCenter", "Identifies the name of a cost center."),
        _string("organization", "Identifies the name of an organization."),
        _string("division", "Identifies the name of a division."),
        _string("department", "Identifies the name of a department."),
        Attribute(
            name="manager",
            type="complex",
            description=(
                "The User's manager.  A complex type that optionally allows service providers "
                "to represent organizational hierarchy by referencing the 'id' attribute of "
                "another User."
            ),
            # "REQUIRED" in the RFC text, "required": false in its §8.7.1 listing; Entra sends a
            # bare id, so neither sub-attribute is enforced.
            sub_attributes=(
                _string(
                    "value",
                    "The id of the SCIM resource representing the User's manager.  REQUIRED.",
                ),
                Attribute(
                    name="$ref",
                    type="reference",
                    description=(
                        "The URI of the SCIM resource representing the User's manager.  REQUIRED."
                    ),
                    reference_types=("User",),
                ),
                _string(
                    "displayName",
                    "The displayName of the User's manager.  OPTIONAL and READ-ONLY.",
                    **_READ_ONLY,
                ),
            ),
        ),
    ),
)

_IMMUTABLE = {"mutability": "immutable"}

GROUP_SCHEMA = Schema(
    id=GROUP_URN,
    name="Group",
    description="Group",
    attributes=(
        # RFC 7643 §8.7.1 says "required": false and "uniqueness": "none"; this server requires
        # a name and keeps it unique, because a group becomes a named team.
        _string(
            "displayName",
            "A human-readable name for the Group.  REQUIRED.",
            required=True,
            uniqueness="server",
        ),
        Attribute(
            name="members",
            type="complex",
            multi_valued=True,
            description="A list of members of the Group.",
            sub_attributes=(
                _string("value", "Identifier of the member of this Group.", **_IMMUTABLE),
                Attribute(
                    name="$ref",
                    type="reference",
                    description=(
                        "The URI corresponding to a SCIM resource that is a member of this Group."
                    ),
                    reference_types=("User", "Group"),
                    **_IMMUTABLE,
                ),
                # Not in the §8.7.1 listing; §8.4 shows it. Computed from the member, so readOnly.
                _string("display", _DISPLAY_DESCRIPTION, **_READ_ONLY),
                _string(
                    "type",
                    "A label indicating the type of resource, e.g., 'User' or 'Group'.",
                    canonical_values=("User", "Group"),
                    **_IMMUTABLE,
                ),
            ),
        ),
    ),
)

COMMON_ATTRIBUTES = (
    _string(
        "id",
        "A unique identifier for a SCIM resource as defined by the service provider.",
        case_exact=True,
        mutability="readOnly",
        returned="always",
        uniqueness="server",
    ),
    _string(
        "externalId",
        "A String that is an identifier for the resource as defined by the provisioning client.",
        case_exact=True,
    ),
    Attribute(
        name="meta",
        type="complex",
        description="A complex attribute containing resource metadata.",
        mutability="readOnly",
        sub_attributes=(
            _string(
                "resourceType",
                "The name of the resource type of the resource.",
                case_exact=True,
                **_READ_ONLY,
            ),
            Attribute(
                name="created",
                type="dateTime",
                description="The DateTime that the resource was added to the service provider.",
                **_READ_ONLY,
            ),
            Attribute(
                name="lastModified",
                type="dateTime",
                description="The most recent DateTime that the details of this resource were updated at the service provider.",
                **_READ_ONLY,
            ),
            Attribute(
                name="location",
                type="reference",
                description="The URI of the resource being returned.",
                case_exact=True,
                reference_types=("uri",),
                **_READ_ONLY,
            ),
            _string(
                "version",
                "The version of the resource being returned.",
                case_exact=True,
                **_READ_ONLY,
            ),
        ),
    ),
)

USER_RESOURCE = ResourceType(
    id="User",
    name="User",
    endpoint="/Users",
    description="User Account",
    schema=USER_SCHEMA,
    extensions=(ENTERPRISE_USER_SCHEMA,),
    common_attributes=COMMON_ATTRIBUTES,
)

GROUP_RESOURCE = ResourceType(
    id="Group",
    name="Group",
    endpoint="/Groups",
    description="Group",
    schema=GROUP_SCHEMA,
    common_attributes=COMMON_ATTRIBUTES,
)

RESOURCE_TYPES = (USER_RESOURCE, GROUP_RESOURCE)
SCHEMAS = (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA)


def resource_type_by_endpoint(endpoint: str) -> ResourceType | None:
    """`"/Users"`, `"Users"` or `"users"` → USER_RESOURCE; unknown → None."""
    wanted = "/" + endpoint.strip("/").lower()
    for resource_type in RESOURCE_TYPES:
        if resource_type.endpoint.lower() == wanted:
            return resource_type
    return None


def resource_type_by_id(resource_type_id: str) -> ResourceType | None:
    """For `/ResourceTypes/<id>` (RFC 7644 §4); ids compare case-insensitively."""
    wanted = resource_type_id.lower()
    for resource_type in RESOURCE_TYPES:
        if resource_type.id.lower() == wanted:
            return resource_type
    return None


def schema_by_id(urn: str) -> Schema | None:
    """For `/Schemas/<urn>` (RFC 7644 §4); schema URIs compare case-insensitively."""
    wanted = urn.lower()
    for schema in SCHEMAS:
        if schema.id.lower() == wanted:
            return schema
    return None
