"""An IdP's match (`GET /Users?filter=userName eq "…"`, Okta's with `startIndex=1&count=100`)
is answered from a comparison prepared once per shape (app.provisioning.search.PreparedMatches):
the same answer as the bound query, on both backends, for every attribute and operator."""

from __future__ import annotations

from urllib.parse import quote

import orjson
import pytest

from app.scim.listing import PageLimits, RawListQuery, bind_query
from app.scim.schemas import USER_RESOURCE
from tests.support.provisioning_data import create_user
from tests.support.server import Client
from tests.support.statement_counter import StatementCounter, without_authentication


@pytest.fixture
def statements(server):
    counter = StatementCounter().install(server.services.db)
    yield counter
    counter.uninstall()


@pytest.fixture(scope="module")
async def people(server, scim_token, http_session):
    """Users whose attributes the matches below compare, some differing only in case."""
    scim = Client(http_session, server.base_url + "/scim/v2", scim_token)
    made = []
    for n, (user_name, display, external) in enumerate(
        [
            ("Match.Ada@Example.com", "Ada Match", "ext-Ada"),
            ("match.bob@example.com", "Bob Match", "ext-bob"),
            ("match.cy@example.com", "Shared Name", "EXT-CY"),
            ("match.di@example.com", "Shared Name", None),
            ("mätch.ünï@example.com", 'Quote "and" \\ back', "ext-ü"),
        ]
    ):
        extra = {"externalId": external} if external else {}
        made.append(
            await create_user(
                scim,
                userName=user_name,
                displayName=display,
                emails=[{"value": f"Mail{n}@Example.com", "type": "work", "primary": True}],
                **extra,
            )
        )
    return made


def _filters(people: list[dict]) -> list[str]:
    ada, bob, cy, _, unicode_user = people
    return [
        f'userName eq "{ada["userName"]}"',
        f'userName eq "{ada["userName"].upper()}"',  # userName is case-insensitive
        f'USERNAME Eq "{bob["userName"]}"',  # names and operators in any case
        'userName eq "nobody@example.com"',
        f'externalId eq "{cy["externalId"]}"',
        f'externalId eq "{cy["externalId"].lower()}"',  # externalId is case-exact
        'displayName eq "Shared Name"',
        'displayName eq "shared name"',
        'emails.value eq "mail1@example.com"',
        'emails.value eq "MAIL0@EXAMPLE.COM"',
        f'id eq "{bob["id"]}"',
        f'userName eq "{unicode_user["userName"]}"',
        'userName ne "match.bob@example.com"',
        'displayName gt "Bob"',
        'userName le "match.bob@example.com"',
        'title eq "none"',
        'name.givenName eq "nobody"',
    ]


async def _general(scim, text: str, extra: str = "") -> dict:
    """The answer of the bound query rendered the general way: excluding an attribute no test
    user has is never served from a prepared comparison nor from stored text."""
    answer = await scim.get(
        f"/Users?filter={quote(text)}{extra}&excludedAttributes=x509Certificates"
    )
    assert answer.status == 200, answer
    return answer.json


async def test_every_prepared_match_answers_as_the_bound_query(scim, server, people):
    limits = PageLimits()
    for text in _filters(people):
        general = await _general(scim, text)
        first = await scim.get(f"/Users?filter={quote(text)}")
        assert first.status == 200, (text, first)
        again = await scim.get(f"/Users?filter={quote(text)}")  # the shape is known by now
        okta = await scim.get(f"/Users?filter={quote(text)}&startIndex=1&count=100")
        assert first.body == again.body == okta.body, text
        assert again.json["totalResults"] == general["totalResults"], text
        assert [orjson.dumps(r) for r in again.json["Resources"]] == [
            orjson.dumps(r) for r in general["Resources"]
        ], text
        prepared = await server.services.users.match_stored(RawListQuery(text), limits)
        assert prepared is not None, f"{text} was not answered from a prepared comparison"
        bound = await server.services.users.search_stored(
            bind_query(RawListQuery(text), USER_RESOURCE, limits)
        )
        assert prepared == bound, text


async def test_a_full_page_still_counts_every_match(scim, people):
    text = 'displayName eq "Shared Name"'
    await scim.get(f"/Users?filter={quote(text)}")  # teaches the shape
    page = await scim.get(f"/Users?filter={quote(text)}&count=1")
    assert page.status == 200
    assert page.json["totalResults"] == 2
    assert page.json["itemsPerPage"] == 1
    assert page.json["Resources"][0]["id"] == people[2]["id"]  # creation order


async def test_a_prepared_match_is_one_statement(scim, people, statements):
    text = f'userName eq "{people[1]["userName"]}"'
    await scim.get(f"/Users?filter={quote(text)}")
    with statements.counting() as executed:
        answer = await scim.get(f"/Users?filter={quote(text)}")
    assert answer.json["totalResults"] == 1
    (statement,) = without_authentication(executed)
    assert "u.rendered" in statement.sql and "u.doc" not in statement.sql


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("&startIndex=2", "a later page"),
        ("&count=0", "only the total"),
        ("&sortBy=userName", "a sort key"),
        ("&sortOrder=descending", "a direction"),
        ("&attributes=userName", "an attribute list"),
    ],
)
async def test_anything_else_asked_goes_the_general_way(scim, server, people, query, why):
    text = f'userName eq "{people[0]["userName"]}"'
    answer = await scim.get(f"/Users?filter={quote(text)}{query}")
    assert answer.status == 200, (why, answer)
    general = await _general(scim, text, query.replace("&attributes=userName", ""))
    assert answer.json["totalResults"] == general["totalResults"] == 1, why
    raw = RawListQuery(
        text,
        start_index=2 if "startIndex" in query else 1,
        count=0 if "count" in query else None,
        sort_by="userName" if "sortBy" in query else None,
        descending="descending" in query,
        attributes="userName" if "attributes" in query else None,
    )
    assert await server.services.users.match_stored(raw, PageLimits()) is None, why


async def test_shapes_whose_sql_depends_on_the_text_are_not_prepared(scim, server, people):
    for text in ('userName co "match"', 'userName sw "match."', 'emails.value ew ".com"'):
        listed = await scim.get(f"/Users?filter={quote(text)}")
        assert listed.status == 200, (text, listed)
        assert listed.json["totalResults"] >= 4, text
        assert await server.services.users.match_stored(RawListQuery(text), PageLimits()) is None


async def test_a_filter_that_binds_to_nothing_is_refused_as_before(scim):
    unknown = quote('nosuch eq "x"')
    for _ in range(2):  # the second time too: a refused shape is never prepared
        refused = await scim.get(f"/Users?filter={unknown}")
        assert refused.status == 400
        assert refused.json["scimType"] == "invalidFilter"
    too_long = quote('userName eq "' + "x" * 5000 + '"')
    too_long = await scim.get(f"/Users?filter={too_long}")
    assert too_long.status == 400
    assert too_long.json["scimType"] == "invalidFilter"
