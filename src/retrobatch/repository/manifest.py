"""`manifest.yaml`: what a person asks to send, checked before anything reads the CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from retrobatch import addresses
from retrobatch.findings import Finding, finding
from retrobatch.repository import schemas
from retrobatch.repository.settings import SETTINGS_FILE, Settings
from retrobatch.repository.yamldoc import load_yaml, read_capped

MANIFEST_FILE = "manifest.yaml"
# What `new` and `init` write for a person to replace: never sent as it is.
PLACEHOLDER_DESCRIPTION = "TODO"  # the start of `new`'s description
PLACEHOLDER_ADDRESS = "replace-me@"  # the start of `init`'s destination address


@dataclass(frozen=True)
class Manifest:
    id: str
    template: str
    event_type: int
    file: str
    description: str
    requested_by: str
    ticket: str | None = None
    cc: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadedManifest:
    """The manifest (None when it cannot be trusted) and the CSV it names, when safe to read."""

    manifest: Manifest | None
    csv_path: Path | None
    findings: list[Finding]


def load_manifest(folder: Path, root: Path, settings: Settings | None) -> LoadedManifest:
    rel = (folder / MANIFEST_FILE).relative_to(root).as_posix()
    try:
        text = read_capped(folder / MANIFEST_FILE).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LoadedManifest(None, None, [finding("manifest.syntax", rel, f"cannot read: {exc}")])
    return parse_manifest(text, folder, root, settings)[0]


def parse_manifest(
    text: str, folder: Path, root: Path, settings: Settings | None
) -> tuple[LoadedManifest, dict[str, Any] | None]:
    """The loaded manifest, and its data when it passed the schema (what `trusted` takes)."""
    rel = (folder / MANIFEST_FILE).relative_to(root).as_posix()
    doc = load_yaml(text)
    found = [finding(f"manifest.{p.kind}", rel, p.message, p.line) for p in doc.problems]
    if doc.data is None and not found:
        found.append(finding("manifest.syntax", rel, "the manifest is empty", 1))
    if doc.data is None:
        return LoadedManifest(None, None, found), None
    if not isinstance(doc.data, dict):
        kind = type(doc.data).__name__
        found.append(
            finding(
                "manifest.schema", rel, f"the manifest must be a mapping of keys, not a {kind}", 1
            )
        )
        return LoadedManifest(None, None, found), None
    errors = schemas.validate("manifest", doc.data)
    found += [finding("manifest.schema", rel, e.message, doc.line_of(e.path)) for e in errors]
    if errors:
        return LoadedManifest(None, None, found), None
    data: dict[str, Any] | None = None if found else doc.data  # duplicate keys: never cached
    return _checked(_from_data(doc.data), folder, root, settings, rel, found, doc.line_of), data


def trusted(
    data: dict[str, Any], folder: Path, root: Path, settings: Settings | None
) -> LoadedManifest | None:
    """A manifest from data that passed the schema before (a cache keyed by its bytes); None
    when it has any finding, so that the caller parses the text again for the finding's line."""
    rel = (folder / MANIFEST_FILE).relative_to(root).as_posix()
    loaded = _checked(_from_data(data), folder, root, settings, rel, [], lambda _: None)
    return None if loaded.findings else loaded


def _from_data(data: dict[str, Any]) -> Manifest:
    return Manifest(
        id=data["id"],
        template=data["template"],
        event_type=data["event_type"],
        file=data["file"],
        description=data["description"],
        requested_by=data["requested_by"],
        ticket=data.get("ticket"),
        cc=tuple(data.get("cc") or ()),
    )


def _checked(
    manifest: Manifest,
    folder: Path,
    root: Path,
    settings: Settings | None,
    rel: str,
    found: list[Finding],
    line_of: Callable[[tuple[str | int, ...]], int | None],
) -> LoadedManifest:
    """The rules beyond the schema: the id, the settings, the file it names."""
    try:
        dt.date.fromisoformat(manifest.id[:10])
    except ValueError:
        found.append(
            finding(
                "manifest.schema",
                rel,
                f"id: {manifest.id[:10]} is not a date",
                line_of(("id",)),
            )
        )
    if manifest.id != folder.name:
        found.append(
            finding(
                "manifest.id-mismatch",
                rel,
                f"id {manifest.id!r} differs from the folder name {folder.name!r}",
                line_of(("id",)),
            )
        )
    if manifest.description.strip().upper().startswith(PLACEHOLDER_DESCRIPTION):
        found.append(
            finding(
                "manifest.placeholder",
                rel,
                f"description: {manifest.description!r} is the placeholder `new` wrote",
                line_of(("description",)),
                hint="say what these rows are and why they are sent late",
            )
        )
    destination = settings.destination(manifest.event_type) if settings is not None else None
    if destination is not None and destination.address.startswith(PLACEHOLDER_ADDRESS):
        found.append(
            finding(
                "config.placeholder",
                SETTINGS_FILE,
                f"destination {manifest.event_type} has the placeholder address "
                f"{destination.address}",
                hint="replace it with the Event Type's unique address from impact.com "
                "(Settings -> Event Types -> Returns Processing)",
            )
        )
    if settings is not None and destination is None:
        known = ", ".join(sorted(settings.destinations)) or "none"
        found.append(
            finding(
                "manifest.unknown-event-type",
                rel,
                f"event_type {manifest.event_type} is not in retrobatch.yaml destinations "
                f"(known: {known})",
                line_of(("event_type",)),
            )
        )
    for i, address in enumerate(manifest.cc):
        why = addresses.problem(address)
        if why is not None:
            found.append(
                finding("manifest.schema", rel, f"cc: {address!r} {why}", line_of(("cc", i)))
            )
        elif settings is not None and not settings.cc_allowed(address):
            found.append(
                finding(
                    "manifest.cc-domain",
                    rel,
                    f"cc {address} is outside cc_allowed_domains "
                    f"({', '.join(settings.cc_allowed_domains) or 'none allowed'})",
                    line_of(("cc", i)),
                )
            )
    csv_path, file_findings = _csv_file(folder, root, manifest.file, rel, line_of(("file",)))
    found += file_findings
    return LoadedManifest(manifest, csv_path, found)


def inside_folder(name: str) -> PurePosixPath | None:
    """A manifest's `file` as a path within its folder; None when the name leaves it (absolute,
    through "..", or with a backslash, which Windows would follow)."""
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or "\\" in name:
        return None
    return pure


def _csv_file(
    folder: Path, root: Path, name: str, rel: str, line: int | None
) -> tuple[Path | None, list[Finding]]:
    """The CSV's path if it is a regular file inside the folder, reached through no link."""
    pure = inside_folder(name)
    if pure is None:
        return None, [
            finding("manifest.file-outside", rel, f"file {name!r} leaves the folder", line)
        ]
    path = folder
    for part in pure.parts:
        path = path / part
        if path.is_symlink():
            return None, [finding("manifest.file-outside", rel, f"file {name!r} is a link", line)]
    if not path.exists():
        siblings = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
        near = [s for s in siblings if s.lower() == path.name.lower()]
        hint = f"did you mean {near[0]!r}? (names are case-sensitive)" if near else None
        message = f"file {name!r} does not exist"
        return None, [finding("manifest.file-missing", rel, message, line, hint=hint)]
    if not path.is_file():
        return None, [finding("manifest.file-missing", rel, f"{name!r} is not a file", line)]
    if not name.lower().endswith(".csv"):
        target = path.relative_to(root).as_posix()
        return None, [finding("csv.not-csv", target, f"{name!r} does not end in .csv", None)]
    return path, []
