"""Reading people and groups out of verified ID-token claims (pure: no server)."""

from __future__ import annotations

import pytest

from app.provisioning.sso_sync import (
    GroupsClaim,
    IdpGroup,
    SignInRefused,
    groups_from_claims,
    identity_from_claims,
    is_admin_member,
    needs_graph,
)

ENTRA = "https://login.microsoftonline.com/7f3c1d2e-0000-4000-8000-000000000001/v2.0"


def test_identity_prefers_preferred_username_then_email_then_upn_then_sub():
    claims = {"sub": "s1", "preferred_username": "ada@contoso.com", "email": "a@c.com"}
    assert identity_from_claims(claims).user_name == "ada@contoso.com"
    assert identity_from_claims({"sub": "s1", "email": "a@c.com"}).user_name == "a@c.com"
    assert identity_from_claims({"sub": "s1", "upn": "u@c.com"}).user_name == "u@c.com"
    assert identity_from_claims({"sub": "s1"}).user_name == "s1"


def test_identity_reads_entra_object_id_and_email_verification():
    identity = identity_from_claims(
        {
            "sub": "s",
            "oid": "00000000-0000-0000-0000-00000000000a",
            "email_verified": False,
            "name": " Ada ",
            "given_name": "Ada",
            "family_name": "Lovelace",
        }
    )
    assert identity.object_id == "00000000-0000-0000-0000-00000000000a"
    assert identity.email_verified is False
    assert (identity.display_name, identity.given_name, identity.family_name) == (
        "Ada",
        "Ada",
        "Lovelace",
    )


def test_identity_needs_a_subject():
    with pytest.raises(SignInRefused):
        identity_from_claims({"email": "a@c.com"})


def test_groups_claim_values_keep_order_and_drop_blanks_and_duplicates():
    claim = groups_from_claims({"groups": ["Eng", " ", "Ops", "Eng", 7]})
    assert claim == GroupsClaim((IdpGroup("Eng", "Eng"), IdpGroup("Ops", "Ops")), False)
    assert groups_from_claims({"roles_and_groups": "Eng"}, "roles_and_groups").groups == (
        IdpGroup("Eng", "Eng"),
    )


def test_an_absent_groups_claim_is_not_an_empty_one():
    assert groups_from_claims({}) == GroupsClaim(None, False)
    assert groups_from_claims({"groups": []}) == GroupsClaim((), False)


@pytest.mark.parametrize(
    "claims",
    [
        {
            "_claim_names": {"groups": "src1"},
            "_claim_sources": {
                "src1": {"endpoint": "https://graph.windows.net/t/users/u/getMemberObjects"}
            },
        },
        {"hasgroups": True},
        {"hasgroups": "true"},
    ],
)
def test_entra_group_overage_is_recognised(claims):
    claim = groups_from_claims(claims)
    assert claim.overage and claim.groups is None
    assert needs_graph(claim, source="auto", issuer="https://idp.example")


def test_a_groups_claim_that_is_not_a_list_is_refused():
    with pytest.raises(SignInRefused):
        groups_from_claims({"groups": {"a": 1}})


def test_when_graph_is_asked():
    missing, present = GroupsClaim(None, False), GroupsClaim((IdpGroup("Eng"),), False)
    assert needs_graph(missing, source="auto", issuer=ENTRA)
    assert needs_graph(missing, source="auto", issuer="https://sts.windows.net/tenant/")
    assert not needs_graph(missing, source="auto", issuer="https://okta.example.com")
    assert not needs_graph(present, source="auto", issuer=ENTRA)
    assert needs_graph(present, source="graph", issuer="https://okta.example.com")
    assert not needs_graph(GroupsClaim(None, True), source="claim", issuer=ENTRA)


def test_admin_group_matches_by_name_case_insensitively_or_by_id():
    groups = [IdpGroup("Haimaker Admins", "1f0c"), IdpGroup("Eng", "22aa")]
    assert is_admin_member(groups, "haimaker admins")
    assert is_admin_member(groups, "1F0C")
    assert not is_admin_member(groups, "Ops")
    assert not is_admin_member(groups, None)
