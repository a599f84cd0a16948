"""Removing secrets from text a server sent back, before anything prints or commits it.

A server may echo what it was given in any encoding it saw: the password as typed, the base64
that AUTH LOGIN and AUTH PLAIN (`\\0user\\0password`) send, with or without its `=` padding,
HTTP Basic credentials (`user:password`), or the URL-encoded form. Each of these is removed,
and whitespace inside a secret matches any run of whitespace, so a reply whose spaces were
collapsed or re-wrapped still loses it. Callers scrub first and tidy whitespace afterwards.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"


def secret_forms(secret: str, user: str | None = None) -> set[str]:
    """Every way `secret` (with `user`, for the combined encodings) could be echoed."""
    if not secret:
        return set()
    plain = {secret, " ".join(secret.split())}
    encoded = [secret]
    if user is not None:
        encoded += [f"\0{user}\0{secret}", f"{user}\0{secret}", f"{user}:{secret}"]
    forms = set(plain)
    for text in encoded:
        b64 = base64.b64encode(text.encode("utf-8")).decode("ascii")
        forms |= {b64, b64.rstrip("=")}
    forms |= {quote(secret, safe=""), quote_plus(secret, safe="")}
    return {f for f in forms if f.strip()}


class Redactor:
    """Replaces every form of the given secrets with `***`."""

    def __init__(self, forms: Iterable[str]) -> None:
        ordered = sorted({f for f in forms if f}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(_flexible, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)


def _flexible(form: str) -> str:
    """`form` as a pattern in which each whitespace run matches any whitespace run."""
    words = form.split()
    if not words:
        return re.escape(form)
    lead = r"\s+" if form[0].isspace() else ""
    tail = r"\s+" if form[-1].isspace() else ""
    return lead + r"\s+".join(re.escape(w) for w in words) + tail
