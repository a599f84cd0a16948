"""The repository as one command sees it: the settings and every submission's manifest and
receipt, each read and parsed once, before any command looks at them.

check, run, status, reconcile and diff start from a snapshot instead of walking `submissions/`
themselves. Parsing YAML dominates the cost of a repository with years of history (a thousand
receipts take seconds), so what parsed cleanly is kept in `.git/retrobatch/parsed.json` keyed by
a hash of the file's bytes: an edited file has another key and is parsed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrobatch.findings import Finding, finding
from retrobatch.repository import cachedir, manifest, receipts
from retrobatch.repository.manifest import MANIFEST_FILE, LoadedManifest, Manifest
from retrobatch.repository.receipts import RECEIPT_FILE, Receipt
from retrobatch.repository.settings import Settings
from retrobatch.repository.submissions import Scan, SubmissionFolder, scan
from retrobatch.repository.yamldoc import read_capped

PARSED_FILE = "parsed.json"
_VERSION = 1


@dataclass
class Submission:
    """One submission folder: its receipt and manifest as read, and the findings about them."""

    folder: SubmissionFolder
    receipt: Receipt | None = None
    receipt_findings: list[Finding] = field(default_factory=list)
    loaded: LoadedManifest = field(default_factory=lambda: LoadedManifest(None, None, []))

    @property
    def id(self) -> str:
        return self.folder.id

    @property
    def manifest(self) -> Manifest | None:
        return self.loaded.manifest

    @property
    def csv_path(self) -> Path | None:
        return self.loaded.csv_path

    @property
    def history(self) -> bool:
        """Delivered, or with a receipt nobody can read (treated as delivered: never resent)."""
        return bool(self.receipt_findings) or (self.receipt is not None and self.receipt.delivered)


@dataclass
class Snapshot:
    root: Path
    settings: Settings | None
    submissions: list[Submission] = field(default_factory=list)  # sorted by id
    scan: Scan = field(default_factory=Scan)  # what was refused (links, special files) and why

    def get(self, sub_id: str) -> Submission | None:
        return next((s for s in self.submissions if s.id == sub_id), None)

    def of(self, folders: list[SubmissionFolder]) -> list[Submission]:
        """These folders' submissions, in the order given; a folder outside `submissions/`
        (an example named on the command line) is read now."""
        by_rel = {s.folder.rel: s for s in self.submissions}
        return [by_rel.get(f.rel) or read(f, self.root, self.settings) for f in folders]


def take(root: Path, settings: Settings | None, found: Scan | None = None) -> Snapshot:
    """Read every submission once. `settings` None: manifests are not judged against them.
    `found`: the folders a scan judged safe to read (default: scan now); nothing else is read."""
    store = _ParsedStore.open(root)
    found = found if found is not None else scan(root)
    snap = Snapshot(root, settings, scan=found)
    for folder in found.folders:
        sub = Submission(folder)
        sub.receipt, sub.receipt_findings = store.receipt(folder, root)
        sub.loaded = store.manifest(folder, root, settings)
        snap.submissions.append(sub)
    store.save()
    return snap


def read(folder: SubmissionFolder, root: Path, settings: Settings | None) -> Submission:
    """One submission, parsed without the cache."""
    sub = Submission(folder)
    sub.receipt, sub.receipt_findings = receipts.load_receipt(folder.folder, root)
    sub.loaded = manifest.load_manifest(folder.folder, root, settings)
    return sub


class _ParsedStore:
    """Clean parses of manifests and receipts by a hash of their bytes."""

    def __init__(self, path: Path | None, known: dict[str, dict[str, Any]]) -> None:
        self.path = path
        self.known = known
        self.used: dict[str, dict[str, Any]] = {}
        self.added = False

    @classmethod
    def open(cls, root: Path) -> _ParsedStore:
        where = cachedir.cache_dir(root)
        path = where / PARSED_FILE if where is not None else None
        doc = cachedir.read_json(path) if path is not None else None
        parsed = doc.get("parsed") if doc is not None and doc.get("version") == _VERSION else None
        return cls(path, parsed if isinstance(parsed, dict) else {})  # else parsed anew

    def _lookup(self, kind: str, data: bytes) -> tuple[str, dict[str, Any] | None]:
        key = kind + ":" + hashlib.sha256(data).hexdigest()
        hit = self.known.get(key)
        if isinstance(hit, dict):
            self.used[key] = hit
            return key, hit
        return key, None

    def _remember(self, key: str, data: dict[str, Any] | None) -> None:
        if data is None:
            return
        try:
            json.dumps(data)
        except (TypeError, ValueError):
            return  # a value JSON cannot hold: parsed each time
        self.used[key] = data
        self.added = True

    def receipt(self, folder: SubmissionFolder, root: Path) -> tuple[Receipt | None, list[Finding]]:
        path = folder.folder / RECEIPT_FILE
        rel = path.relative_to(root).as_posix()
        try:
            raw = read_capped(path, receipt=True)
        except FileNotFoundError:
            return None, []
        except OSError as exc:
            return None, [finding("receipt.invalid", rel, f"cannot read: {exc}")]
        key, hit = self._lookup("receipt", raw)
        if hit is not None:
            with contextlib.suppress(*cachedir.DAMAGED_ENTRY):  # else parsed again
                return receipts.from_data(hit), []
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, [finding("receipt.invalid", rel, f"cannot read: {exc}")]
        receipt, problems, data = receipts.parse_receipt_data(text, rel)
        self._remember(key, data)
        return receipt, problems

    def manifest(
        self, folder: SubmissionFolder, root: Path, settings: Settings | None
    ) -> LoadedManifest:
        path = folder.folder / MANIFEST_FILE
        try:
            raw = read_capped(path)
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return manifest.load_manifest(folder.folder, root, settings)  # words the problem
        key, hit = self._lookup("manifest", raw)
        if hit is not None:
            with contextlib.suppress(*cachedir.DAMAGED_ENTRY):  # else parsed again
                loaded = manifest.trusted(hit, folder.folder, root, settings)
                if loaded is not None:
                    return loaded
        loaded, data = manifest.parse_manifest(text, folder.folder, root, settings)
        self._remember(key, data)
        return loaded

    def save(self) -> None:
        """Keep what this run used (older versions of edited files fall away)."""
        if self.path is None or not (self.added or len(self.used) < len(self.known)):
            return
        doc = {"version": _VERSION, "parsed": self.used}
        with contextlib.suppress(OSError):  # a read-only clone: parsed again next time
            cachedir.write_json(self.path, doc)
