from email.headerregistry import Address
from email.utils import parseaddr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrobatch.addresses import allowed, is_address, problem


@pytest.mark.parametrize(
    "text",
    ["ana@brand.example", "a.b+tag@mail.brand.example", "o'neil@brand.example", "x_1@b-c.example"],
)
def test_plain_addresses_pass(text: str) -> None:
    assert problem(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "x(@brand.example",  # a comment: the server would get RCPT TO:<x>
        "a@brand.example (c)",
        "Ana <ana@brand.example>",
        "<ana@brand.example>",
        '"a b"@brand.example',
        "a@brand.example, b@evil.example",
        "a@brand.example\n",
        "a@brand.example\r\nBcc: e@evil.example",
        "ána@brand.example",
        "a..b@brand.example",
        ".a@brand.example",
        "a@[127.0.0.1]",
        "a@localhost",
        "a@-brand.example",
        "@brand.example",
        "a@",
        "",
        "a" * 250 + "@b.example",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    assert problem(text) is not None


def test_the_allow_list_compares_domains_exactly_ignoring_case() -> None:
    assert allowed("f@Brand.Example", ["brand.example"])
    assert not allowed("f@sub.brand.example", ["brand.example"])
    assert not allowed("f@brand.example.evil", ["brand.example"])
    assert not allowed("x(@brand.example", ["brand.example"])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x17F), max_size=40))
def test_an_accepted_address_parses_to_exactly_itself(text: str) -> None:
    if is_address(text):
        assert parseaddr(text) == ("", text)
        assert Address(addr_spec=text).addr_spec == text
        assert text.isascii() and text.count("@") == 1
