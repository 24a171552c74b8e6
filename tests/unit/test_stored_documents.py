"""The representation stored at write time, completed on read, is byte for byte what the
general rendering gives (app.scim.stored_documents)."""

from __future__ import annotations

import datetime as dt

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from app.scim.codec import canonicalize_resource, render_resource
from app.scim.rendering import resource_meta
from app.scim.schemas import GROUP_RESOURCE, USER_RESOURCE
from app.scim.stored_documents import SEP, complete, fingerprint, prerender
from tests.unit.test_codec import draw_odd_document

CREATED = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
MODIFIED = dt.datetime(2026, 2, 3, 4, 5, 6, 789012, tzinfo=dt.UTC)

_computed_values = st.lists(
    st.fixed_dictionaries(
        {
            "value": st.text(min_size=1, max_size=6),
            "$ref": st.text(max_size=12),
            "display": st.text(max_size=6),
            "type": st.sampled_from(["direct", "User"]),
        }
    ),
    max_size=3,
)


def _general(doc, rt, resource_id, meta, computed) -> bytes:
    name = "groups" if rt is USER_RESOURCE else "members"
    body = render_resource(
        doc, rt, resource_id=resource_id, meta=meta, computed={name: computed} if computed else {}
    )
    return orjson.dumps(body)


def _stored(doc, rt, resource_id, meta, computed) -> bytes | None:
    text = prerender(doc, rt, resource_id=resource_id, meta=meta)
    return complete(text, rt, computed, meta["location"])


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    location=st.text(max_size=20),
    resource_id=st.text(min_size=1, max_size=10),
    computed=_computed_values,
)
def test_stored_and_completed_equals_the_general_rendering(data, location, resource_id, computed):
    """Whatever the document holds (missing, empty, null or odd values, extensions or not, any
    characters in the id and the URL), the completed text is the general rendering's bytes."""
    # stored documents never hold the computed attribute
    rt, doc = draw_odd_document(data, without=("members",))
    meta = resource_meta(rt.name, location, CREATED, MODIFIED, 7)
    assert _stored(doc, rt, resource_id, meta, computed) == _general(
        doc, rt, resource_id, meta, computed
    )


def test_control_characters_in_values_do_not_break_the_layout():
    doc = canonicalize_resource({"userName": "a\x1fb", "displayName": "\x1f\x00x"}, USER_RESOURCE)
    meta = resource_meta("User", "http://h/\x1f", CREATED, MODIFIED, 1)
    assert prerender(doc, USER_RESOURCE, resource_id="i", meta=meta).count(SEP) == 3
    assert _stored(doc, USER_RESOURCE, "i", meta, []) == _general(doc, USER_RESOURCE, "i", meta, [])


def test_missing_or_foreign_text_is_not_used():
    """Rows written before there was a stored text, or under other rendering rules, are
    rendered the general way (complete says None)."""
    doc = canonicalize_resource({"userName": "a"}, USER_RESOURCE)
    meta = resource_meta("User", "", CREATED, MODIFIED, 1)
    text = prerender(doc, USER_RESOURCE, resource_id="i", meta=meta)
    assert complete(text, USER_RESOURCE, [], "u") is not None
    assert complete(None, USER_RESOURCE, [], "u") is None
    assert complete("", USER_RESOURCE, [], "u") is None
    foreign = "0" * len(fingerprint(USER_RESOURCE)) + text[len(fingerprint(USER_RESOURCE)) :]
    assert complete(foreign, USER_RESOURCE, [], "u") is None
    assert complete(text, GROUP_RESOURCE, [], "u") is None  # another type's rules


def test_the_fingerprint_is_the_same_in_every_process():
    """It names the rules, not this process's objects: a stored text outlives restarts."""
    import subprocess
    import sys

    code = (
        "from app.scim.stored_documents import fingerprint;"
        "from app.scim.schemas import USER_RESOURCE; print(fingerprint(USER_RESOURCE))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == fingerprint(USER_RESOURCE)
