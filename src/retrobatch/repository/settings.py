"""`retrobatch.yaml`: the reviewed facts about where batches go.

Recipients come only from here, never from a manifest, so the address a batch goes to is
reviewed like code. Problems are `config.*` findings; a command that needs settings stops with
exit 2 when any is an error.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from retrobatch import addresses
from retrobatch.findings import Finding, finding
from retrobatch.repository import cachedir, schemas
from retrobatch.repository.yamldoc import load_yaml, read_capped

SETTINGS_FILE = "retrobatch.yaml"
SETTINGS_CACHE = "settings.json"  # in the cache folder: the last clean parse (see _Parsed)
# Under a stock Postfix message_size_limit (10,240,000 bytes, the whole message as queued, with
# the headers a relay adds): what a default relay accepts, with room to spare.
DEFAULT_MAX_EMAIL_BYTES = 10_000_000
DEFAULT_RECONCILE_WINDOW_HOURS = 48


@dataclass(frozen=True)
class Destination:
    event_type: str
    name: str
    address: str
    app: bool = False


@dataclass(frozen=True)
class Committer:
    name: str
    email: str


@dataclass(frozen=True)
class Settings:
    sender: str
    destinations: dict[str, Destination]
    cc_allowed_domains: tuple[str, ...] = ()
    custom_reason_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    max_email_bytes: int = DEFAULT_MAX_EMAIL_BYTES
    committer: Committer | None = None
    reconcile_window_hours: int = DEFAULT_RECONCILE_WINDOW_HOURS

    def destination(self, event_type: int | str) -> Destination | None:
        return self.destinations.get(str(event_type))

    def reason_codes(self, event_type: int | str) -> tuple[str, ...]:
        return self.custom_reason_codes.get(str(event_type), ())

    def cc_allowed(self, address: str) -> bool:
        return addresses.allowed(address, self.cc_allowed_domains)


def load_settings(root: Path) -> tuple[Settings | None, list[Finding]]:
    """Settings, or None with the findings that explain why not."""
    path = root / SETTINGS_FILE
    if path.is_symlink():  # it decides where batches go: never read from outside the repository
        return None, [
            finding("config.syntax", SETTINGS_FILE, "is a symbolic link: it must be a regular file")
        ]
    try:
        text = read_capped(path).decode("utf-8")
    except FileNotFoundError:
        return None, [
            finding(
                "config.syntax",
                SETTINGS_FILE,
                f"not found in {root}: create it (retrobatch init shows one) or pass --repo",
            )
        ]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [finding("config.syntax", SETTINGS_FILE, f"cannot read: {exc}")]
    return _Parsed(root).settings(text)


class _Parsed:
    """The last clean parse of retrobatch.yaml, kept by a hash of its text in the repository's
    cache folder (.git/retrobatch): every command reads the settings, and parsing them costs
    loading YAML and the e-mail package, most of a small command's start. A file with findings
    is parsed every time, for their lines; a damaged entry is parsed again."""

    def __init__(self, root: Path) -> None:
        where = cachedir.cache_dir(root)
        self.path = where / SETTINGS_CACHE if where is not None else None

    def settings(self, text: str) -> tuple[Settings | None, list[Finding]]:
        key = hashlib.sha256(text.encode()).hexdigest()
        cached = self._read(key)
        if cached is not None:
            with contextlib.suppress(*cachedir.DAMAGED_ENTRY):
                return _from_dict(cached), []
        settings, problems, data = _parse(text)
        if settings is not None and self.path is not None:
            with contextlib.suppress(OSError, TypeError, ValueError):
                cachedir.write_json(self.path, {"key": key, "data": data})
        return settings, problems

    def _read(self, key: str) -> dict[str, object] | None:
        entry = cachedir.read_json(self.path) if self.path is not None else None
        data = entry.get("data") if entry is not None and entry.get("key") == key else None
        return data if isinstance(data, dict) else None


def parse_settings(text: str, path: str = SETTINGS_FILE) -> tuple[Settings | None, list[Finding]]:
    settings, problems, _ = _parse(text, path)
    return settings, problems


def _parse(
    text: str, path: str = SETTINGS_FILE
) -> tuple[Settings | None, list[Finding], dict[str, object] | None]:
    """Settings or findings, and the data they were made from (for the cache)."""
    doc = load_yaml(text)
    # A duplicate key in settings is a syntax problem: the contract has no other config code.
    problems = [finding("config.syntax", path, p.message, p.line) for p in doc.problems]
    if doc.data is None and not problems:
        problems.append(finding("config.syntax", path, "the file is empty", 1))
    if problems:
        return None, problems, None
    errors = schemas.validate("settings", doc.data)
    if errors:
        found = [finding("config.schema", path, e.message, doc.line_of(e.path)) for e in errors]
        return None, found, None
    assert isinstance(doc.data, dict)
    bad = [
        finding("config.schema", path, f"{where}: {value!r} {why}", doc.line_of(key))
        for key, where, value in _addresses(doc.data)
        if (why := addresses.problem(value)) is not None
    ]
    if bad:
        return None, bad, None
    return _from_dict(doc.data), [], doc.data


def _addresses(data: dict[str, object]) -> list[tuple[tuple[str, ...], str, object]]:
    """(path, label, value) of every address retrobatch sends from or to."""
    found: list[tuple[tuple[str, ...], str, object]] = [(("sender",), "sender", data["sender"])]
    raw_dest = data["destinations"]
    assert isinstance(raw_dest, dict)
    for key, dest in raw_dest.items():
        where = ("destinations", str(key), "address")
        found.append((where, f"destinations.{key}.address", dest["address"]))
    return found


def _from_dict(data: dict[str, object]) -> Settings:
    raw_dest = data["destinations"]
    assert isinstance(raw_dest, dict)
    destinations = {
        str(key): Destination(str(key), d["name"], d["address"], bool(d.get("app", False)))
        for key, d in raw_dest.items()
    }
    raw_codes = data.get("custom_reason_codes") or {}
    assert isinstance(raw_codes, dict)
    committer = data.get("committer")
    return Settings(
        sender=str(data["sender"]),
        destinations=destinations,
        cc_allowed_domains=tuple(data.get("cc_allowed_domains") or ()),  # type: ignore[arg-type]
        custom_reason_codes={str(k): tuple(v) for k, v in raw_codes.items()},
        max_email_bytes=int(data.get("max_email_bytes", DEFAULT_MAX_EMAIL_BYTES)),  # type: ignore[call-overload]
        committer=Committer(committer["name"], committer["email"])  # type: ignore[index]
        if committer
        else None,
        reconcile_window_hours=int(
            data.get("reconcile_window_hours", DEFAULT_RECONCILE_WINDOW_HOURS)  # type: ignore[call-overload]
        ),
    )
