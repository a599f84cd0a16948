"""The e-mail impact.com asks for: the file as an attachment, only its address in To:, anyone
else in Cc:, no subject and no body (docs/README.md, "How a batch reaches impact.com").

The attachment goes base64-encoded, so its bytes arrive exactly as committed (line endings
included), and the size of a message is known before it is built: batching splits on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email import policy, utils
from email.message import EmailMessage
from functools import cache

from retrobatch import addresses

# Lines of 76 characters (57 bytes each) plus CRLF, as `email` writes base64 under policy.SMTP.
_B64_LINE_BYTES = 57
_CRLF = 2
# The longest Message-ID make_msgid can give (12-digit time, 7-digit pid, 20-digit random), so
# the size of a message never depends on the random part and a split is reproducible.
_LONGEST_MSGID_LOCAL = "9" * 12 + "." + "9" * 7 + "." + "9" * 20


@dataclass(frozen=True)
class Envelope:
    """Who a submission's messages go from and to; `to` comes from retrobatch.yaml only."""

    sender: str
    to: str
    cc: tuple[str, ...] = ()

    @property
    def recipients(self) -> list[str]:
        return [self.to, *self.cc]


def sender_domain(sender: str) -> str:
    return sender.rpartition("@")[2] or "localhost"


def new_message_id(sender: str) -> str:
    """A unique Message-ID in the sender's domain, recorded in the receipt before sending."""
    return utils.make_msgid(domain=sender_domain(sender))


def build_message(
    envelope: Envelope,
    attachment: str,
    data: bytes,
    message_id: str,
    date: dt.datetime | None = None,
) -> EmailMessage:
    refuse_unsafe(envelope, attachment, message_id)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = envelope.sender
    msg["To"] = envelope.to
    if envelope.cc:
        msg["Cc"] = ", ".join(envelope.cc)
    msg["Message-ID"] = message_id
    msg["Date"] = utils.format_datetime((date or dt.datetime.now(dt.UTC)).replace(microsecond=0))
    msg.add_attachment(data, maintype="text", subtype="csv", filename=attachment)
    # RFC 2045 section 4: MIME-Version belongs on the message; `email` puts it on the part.
    for part in msg.iter_attachments():
        del part["MIME-Version"]
    msg["MIME-Version"] = "1.0"
    return msg


class UnsafeHeader(ValueError):
    """A value that would change the message's headers; `check` refuses it long before."""


def refuse_unsafe(envelope: Envelope, attachment: str, message_id: str) -> None:
    """Every value placed in a header, checked again where the message is built: a CR or LF
    would end the headers early or add one, and each address must be one the parser that
    validated it reads back as written (what is checked is what the server receives)."""
    named = [("From", envelope.sender), ("To", envelope.to), *(("Cc", cc) for cc in envelope.cc)]
    for label, value in [*named, ("Message-ID", message_id), ("attachment name", attachment)]:
        if "\r" in value or "\n" in value:
            raise UnsafeHeader(f"{label} {value!r} holds a line break")
    for label, address in named:
        why = addresses.problem(address)
        if why is not None:
            raise UnsafeHeader(f"{label} {address!r} {why}")


def envelope_problem(
    envelope: Envelope, attachment: str, cc_allowed_domains: tuple[str, ...]
) -> str | None:
    """Why this envelope must not be used (checked again by `run`, whatever `check` said)."""
    try:
        refuse_unsafe(envelope, attachment, new_message_id(envelope.sender))
    except UnsafeHeader as exc:
        return str(exc)
    for cc in envelope.cc:
        if not addresses.allowed(cc, cc_allowed_domains):
            return f"Cc {cc!r} is outside cc_allowed_domains"
    return None


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes over SMTP (CRLF line ends)."""
    return msg.as_bytes(policy=policy.SMTP)


def encoded_size(envelope: Envelope, attachment: str, data_length: int) -> int:
    """The size of the message `build_message` makes for an attachment of `data_length` bytes,
    at most (the Message-ID is counted at its longest)."""
    return _overhead(envelope, attachment) + base64_size(data_length)


def base64_size(data_length: int) -> int:
    lines = -(-data_length // _B64_LINE_BYTES)
    return 4 * -(-data_length // 3) + _CRLF * lines


@cache
def _overhead(envelope: Envelope, attachment: str) -> int:
    placeholder = f"<{_LONGEST_MSGID_LOCAL}@{sender_domain(envelope.sender)}>"
    return len(message_bytes(build_message(envelope, attachment, b"", placeholder)))
