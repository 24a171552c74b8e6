"""NUL is refused wherever text enters, as the same SCIM error on both backends."""

from __future__ import annotations

import pytest

from app.scim.errors import ScimError
from app.scim.filter import parse_filter, parse_patch_path
from app.scim.text_rules import reject_nul_characters


@pytest.mark.parametrize(
    "document",
    ["a\x00", {"k": "a\x00"}, {"k\x00": 1}, [1, [{"deep": ["x", "\x00"]}]], {"a": {"b": ["\x00"]}}],
)
def test_nul_anywhere_in_a_document_is_invalid_value(document):
    with pytest.raises(ScimError) as refused:
        reject_nul_characters(document)
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidValue")


def test_documents_without_nul_pass():
    reject_nul_characters({"userName": "Zoë", "emails": [{"value": "a@b"}], "n": 1, "x": None})


@pytest.mark.parametrize("text", ['title eq "\\u0000"', 'title co "a\\u0000"', 'title eq "\x00"'])
def test_nul_in_a_filter_literal_is_invalid_filter(text):
    with pytest.raises(ScimError) as refused:
        parse_filter(text)
    assert refused.value.scim_type == "invalidFilter"


def test_nul_in_a_patch_path_filter_is_invalid_path():
    with pytest.raises(ScimError) as refused:
        parse_patch_path('emails[value eq "\\u0000"].type')
    assert refused.value.scim_type == "invalidPath"
