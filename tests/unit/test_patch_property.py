"""Property: for any PATCH body, the engine answers with a new document or a ScimError, never
another exception, never a change to its input, never a document without its required
attributes."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.scim.errors import ScimError
from app.scim.patch import apply_patch, parse_patch_request, split_member_changes
from app.scim.schemas import ENTERPRISE_USER_URN, GROUP_RESOURCE, GROUP_URN, USER_RESOURCE

PATHS = [
    "userName",
    "USERNAME",
    "displayName",
    "externalId",
    "name",
    "name.givenName",
    "name.bogus",
    "nickName",
    "active",
    "emails",
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
    'emails[type eq "home" and primary eq true].primary',
    'emails[value co "x" or not (type pr)].display',
    "emails.value",
    "phoneNumbers[primary eq true].value",
    'addresses[type eq "work"].streetAddress',
    "x509Certificates",
    "groups",
    "password",
    "id",
    "meta",
    "meta.created",
    "members",
    'members[value eq "u1"]',
    'members[value eq "u1" or value eq "u2"]',
    'members[type eq "User"]',
    'members[value eq "u1"].display',
    "members.value",
    f"{ENTERPRISE_USER_URN}:manager",
    f"{ENTERPRISE_USER_URN}:manager.value",
    f"{ENTERPRISE_USER_URN}:manager.displayName",
    f"{ENTERPRISE_USER_URN}:department",
    ENTERPRISE_USER_URN,
    GROUP_URN,
    f"{GROUP_URN}:members",
    "urn:example:unknown:2.0:User:badge",
    "schemas",
    'emails[type eq "work"',
    "",
]

names = st.one_of(st.sampled_from(PATHS), st.text(max_size=12))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from(["True", "false", "", "u1", "work", "2024-01-01T00:00:00Z"]),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(names, st.sampled_from(["value", "type", "primary"])), inner, max_size=4
        ),
    ),
    max_leaves=12,
)
plausible_values = st.sampled_from(
    [
        "x",
        "False",
        True,
        {"value": "u1"},
        [{"value": "u1", "display": "A"}, {"value": "u2", "$ref": None}],
        [{"value": "n@x.org", "type": "home", "primary": True}],
        {"givenName": "G", "familyName": "F"},
        {"displayName": "Eng", "members": [{"value": "u3"}]},
        {"id": "u-1", "schemas": [], "active": "false", "name.givenName": "G"},
        {ENTERPRISE_USER_URN: {"department": "D", "manager": "m2"}},
        {f"{ENTERPRISE_USER_URN}:employeeNumber": "7", "userName": None},
        {"userName": "bob", "emails": {"value": "e@x"}},
    ]
)
op_names = st.sampled_from(["add", "Add", "replace", "REPLACE", "remove", "Remove"])
well_formed_operations = st.fixed_dictionaries(
    {"op": op_names, "path": st.sampled_from([*PATHS, None])},
    optional={"value": st.one_of(plausible_values, json_values)},
)
any_operations = st.fixed_dictionaries(
    {},
    optional={
        "op": st.one_of(op_names, st.just("move"), scalars),
        "path": st.one_of(names, scalars),
        "value": json_values,
    },
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {"Operations": st.lists(well_formed_operations, min_size=1, max_size=3)},
        optional={"schemas": st.just(["urn:ietf:params:scim:api:messages:2.0:PatchOp"])},
    ),
    st.fixed_dictionaries(
        {
            "Operations": st.lists(
                st.one_of(well_formed_operations, any_operations), min_size=1, max_size=4
            )
        }
    ),
    json_values,
)

USER_DOC = {
    "userName": "alice",
    "name": {"givenName": "Alice", "familyName": "Smith"},
    "emails": [{"value": "a@x.org", "type": "work", "primary": True}, {"value": "b@y.org"}],
    "active": True,
    ENTERPRISE_USER_URN: {"manager": {"value": "m1"}, "department": "R&D"},
}
GROUP_DOC = {"displayName": "Eng", "externalId": "g1"}


def _outcome(call):
    try:
        return call()
    except ScimError as error:
        assert 400 <= error.status < 600 and error.detail
        return None


def _check_result(original: dict, snapshot: dict, result: dict | None, required: str) -> None:
    assert original == snapshot
    if result is not None:
        assert isinstance(result, dict) and required in result
        json.dumps(result, allow_nan=False)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_any_body_gives_a_document_or_a_scim_error(body):
    parsed = _outcome(lambda: parse_patch_request(copy.deepcopy(body)))
    if parsed is None:
        return
    user_doc = copy.deepcopy(USER_DOC)
    result = _outcome(lambda: apply_patch(user_doc, parsed, USER_RESOURCE, resource_id="u-1"))
    _check_result(user_doc, USER_DOC, result, "userName")

    split = _outcome(lambda: split_member_changes(parsed, GROUP_RESOURCE))
    if split is None:
        return
    document_operations, changes = split
    assert all(
        change.kind in ("add", "remove", "replace", "clear", "remove_matching")
        for change in changes
    )
    assert all(isinstance(member_id, str) for change in changes for member_id in change.ids)
    group_doc = copy.deepcopy(GROUP_DOC)
    result = _outcome(lambda: apply_patch(group_doc, document_operations, GROUP_RESOURCE))
    _check_result(group_doc, GROUP_DOC, result, "displayName")
    if result is not None:
        assert "members" not in result
