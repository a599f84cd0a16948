"""schemas.conforms (jsonschema skipped for valid documents) never passes what jsonschema fails."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from retrobatch.repository import schemas

EMAILS = st.sampled_from(["a@b.example", "x y@b.example", "a@b", "@", "ana@brand.example", ""])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**11),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    EMAILS,
    st.sampled_from(["item-level", "2026-11-27-x", "12345", "brand.example", "PRICE_MATCH", 1]),
)
KEYS = st.sampled_from(
    [
        "version", "sender", "destinations", "cc_allowed_domains", "custom_reason_codes",
        "max_email_bytes", "committer", "reconcile_window_hours", "id", "template", "event_type",
        "file", "description", "requested_by", "ticket", "cc", "name", "address", "app", "email",
        "12345", "x", "state", "parts",
    ]
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)

MANIFEST = {
    "id": "2026-11-27-bench",
    "template": "item-level",
    "event_type": 12345,
    "file": "conversions.csv",
    "description": "benchmark",
    "requested_by": "ana@brand.example",
}
SETTINGS = {
    "version": 1,
    "sender": "conversions@brand.example",
    "destinations": {"12345": {"name": "Online Sale", "address": "a1@inbound.example"}},
    "cc_allowed_domains": ["brand.example"],
}


def agree(name: str, data: Any) -> None:
    schema = schemas.load_schema(name)
    if schemas.conforms(schema, schema, data):
        assert not list(schemas.validator(name).iter_errors(data)), data


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["settings", "manifest", "receipt"]), VALUES)
def test_any_document(name: str, data: Any) -> None:
    agree(name, data)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([("settings", SETTINGS), ("manifest", MANIFEST)]),
    st.dictionaries(KEYS, VALUES, max_size=3),
    st.lists(KEYS, max_size=2),
)
def test_valid_documents_changed(
    base: tuple[str, dict[str, Any]], changes: dict[str, Any], drop: list[str]
) -> None:
    name, doc = base
    data = {k: v for k, v in {**doc, **changes}.items() if k not in drop}
    agree(name, data)


def test_valid_documents_skip_jsonschema() -> None:
    for name, doc in (("settings", SETTINGS), ("manifest", MANIFEST)):
        schema = schemas.load_schema(name)
        assert schemas.conforms(schema, schema, doc)
        assert schemas.validate(name, doc) == []
