"""E-mail addresses: the one parser that both `check` and `run` use.

An allow-list is only as good as the agreement between the string it checks and the string the
server receives. `x(@brand.example` looks like an address at brand.example, yet an e-mail
parser reads `x` followed by a comment. So an address is accepted only when the standard
library's parsers read it back as exactly the same text, a plain `local@domain` (no display
name, comment, quoting or route), ASCII only (SMTPUTF8 is not used end to end), with a domain
of host name labels; the domain is then compared with the allow-list exactly, ignoring case
(domains are case-insensitive; local parts are left as written).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_LENGTH = 254  # RFC 5321's limit for a forward path
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_ATOM_TEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")


def problem(text: object) -> str | None:
    """Why `text` is not a plain e-mail address, or None when it is one."""
    if not isinstance(text, str):
        return "is not text"
    if not text.isascii() or not text.isprintable():
        return "holds a character other than printable ASCII"
    if len(text) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters"
    local, at, domain = text.rpartition("@")
    if not at or not local or not _ATOM_TEXT.fullmatch(local):
        return "is not of the form name@domain (no quotes, comments, brackets or spaces)"
    if not _HOST.fullmatch(domain):
        return f"has no valid domain ({domain!r})"
    # Imported here: loading the e-mail package is a tenth of `check`'s start-up, and settings
    # read from the cache need no address parsed.
    from email.errors import HeaderParseError, MessageError
    from email.headerregistry import Address
    from email.utils import parseaddr

    try:
        parsed = Address(addr_spec=text)
    except (ValueError, IndexError, HeaderParseError, MessageError):
        return "is not an e-mail address an e-mail parser reads back as written"
    if parsed.addr_spec != text or parseaddr(text) != ("", text):
        return "is not an e-mail address an e-mail parser reads back as written"
    return None


def is_address(text: object) -> bool:
    return problem(text) is None


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def allowed(address: str, domains: Iterable[str]) -> bool:
    """A valid address whose domain is one of `domains` exactly (case-insensitive)."""
    return is_address(address) and domain_of(address) in {d.lower() for d in domains}
