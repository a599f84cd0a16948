import email
from email import policy

from retrobatch import addresses
from retrobatch.send.message import (
    Envelope,
    build_message,
    encoded_size,
    message_bytes,
    new_message_id,
)
from support.runner_env import SENDER

ENVELOPE = Envelope(SENDER, "a1b2c3@inbound.example", ("finance@brand.example",))


def _parse(data: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_the_message_is_what_impact_asks_for() -> None:
    csv = b"OrderId,Amount\r\nA-1,10.00\nA-2,5\r\n"
    message_id = new_message_id(SENDER)
    parsed = _parse(message_bytes(build_message(ENVELOPE, "2026-11-20-x.csv", csv, message_id)))
    assert parsed["From"] == SENDER
    assert parsed["To"] == "a1b2c3@inbound.example"
    assert parsed["Cc"] == "finance@brand.example"
    assert parsed["Subject"] is None
    assert parsed["Message-ID"] == message_id
    assert parsed.get_body() is None  # no text part at all: the body is empty
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "2026-11-20-x.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == csv  # line endings kept, byte for byte


def test_message_ids_are_unique_and_in_the_senders_domain() -> None:
    ids = {new_message_id(SENDER) for _ in range(50)}
    assert len(ids) == 50
    assert all(i.endswith("@brand.example>") for i in ids)


def test_no_cc_header_without_cc() -> None:
    msg = build_message(Envelope(SENDER, "x@inbound.example"), "a.csv", b"h\n", "<1@b>")
    assert msg["Cc"] is None


def test_encoded_size_bounds_the_real_size_exactly_for_the_longest_id() -> None:
    longest = "<" + "9" * 12 + "." + "9" * 7 + "." + "9" * 20 + "@brand.example>"
    for length in (0, 1, 2, 3, 56, 57, 58, 1000, 57 * 300 + 5):
        data = bytes(range(256)) * (length // 256 + 1)
        data = data[:length]
        exact = len(message_bytes(build_message(ENVELOPE, "n.csv", data, longest)))
        assert encoded_size(ENVELOPE, "n.csv", length) == exact
        real = len(message_bytes(build_message(ENVELOPE, "n.csv", data, new_message_id(SENDER))))
        assert real <= exact


def test_mime_version_is_on_the_message_not_only_the_part() -> None:
    data = message_bytes(build_message(ENVELOPE, "x.csv", b"a\n", new_message_id(SENDER)))
    head = data.partition(b"\r\n\r\n")[0]
    assert head.count(b"MIME-Version: 1.0") == 1
    assert data.count(b"MIME-Version") == 1  # and nowhere else


def test_unsendable_addresses_are_named() -> None:
    """What `run` refuses before recording anything is the one parser's verdict, as in `check`."""
    unsendable_address = addresses.problem
    assert unsendable_address("finance@brand.example") is None
    assert "ASCII" in str(unsendable_address("jürgen@brand.example"))
    assert "ASCII" in str(unsendable_address("a@brand.example\r\nBcc: x@evil.example"))
    assert "ASCII" in str(unsendable_address("a@brand.example\n"))
    assert "name@domain" in str(unsendable_address("a b@brand.example"))
    assert "name@domain" in str(unsendable_address("brand.example"))
