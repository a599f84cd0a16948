"""`retrobatch check` as a function: which submissions to read, and every finding about them.

Selection and semantics follow the contract's "What check covers": the working tree is read;
delivered submissions are history, re-validated only when named (as of their `sent_at`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from retrobatch.check import repository as repo_rules
from retrobatch.check.result import CheckReport, SubmissionReport
from retrobatch.csvfile.validate import CsvContext, Progress, check_csv
from retrobatch.errors import UsageError
from retrobatch.findings import Finding, finding
from retrobatch.repository import gitops, snapshot
from retrobatch.repository.manifest import MANIFEST_FILE, Manifest
from retrobatch.repository.receipts import Receipt, parse_timestamp
from retrobatch.repository.settings import SETTINGS_FILE, Settings
from retrobatch.repository.snapshot import Snapshot
from retrobatch.repository.submissions import (
    SUBMISSIONS_DIR,
    SubmissionFolder,
    containing,
    named_folder,
    scan,
    unexpected,
)
from retrobatch.repository.workspace import Workspace

# Given a CSV's path and size, a callback for its progress (bytes read; -1 when done), or None.
ProgressFor = Callable[[str, int], Progress | None]
Notice = Callable[[str], None]


def end_of_day(day: dt.date) -> dt.datetime:
    """`--as-of DATE` stands for the end of that UTC day."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)


def parse_as_of(text: str, source: str = "--as-of ") -> dt.datetime:
    """`source` names where the text came from (the option, or `RETROBATCH_AS_OF=`)."""
    try:
        return end_of_day(dt.date.fromisoformat(text))
    except ValueError:
        raise UsageError(f"{source}{text!r}: expected a date, YYYY-MM-DD") from None


def select(
    snap: Snapshot, paths: list[Path] | None
) -> tuple[list[SubmissionFolder], set[str], list[Finding]]:
    """The folders to check, the ids named explicitly (checked even when delivered), and the
    refused entries (links, special files) among what was asked for."""
    root, found = snap.root, snap.scan
    everything = [s.folder for s in snap.submissions]
    if not paths:
        return everything, set(), found.refused_for(None)
    safe = {f.id: f for f in everything}
    chosen: dict[str, SubmissionFolder] = {}
    named: set[str] = set()
    refused: set[str] = set()
    for path in paths:
        absolute = path if path.is_absolute() else Path.cwd() / path
        if not os.path.lexists(absolute):
            raise UsageError(f"{path}: no such file or folder")
        top = os.path.abspath(root)
        if os.path.commonpath([os.path.abspath(absolute), top]) != top:
            # other paths in the repository are passed over: pre-commit hands over every file
            raise UsageError(f"{path}: outside the repository {root}")
        if os.path.abspath(absolute) == os.path.abspath(root / SETTINGS_FILE):
            chosen.update(safe)
            refused.update(found.refused)
            continue
        name = named_folder(root, absolute)
        if name in found.refused:
            refused.add(name)
        elif name in safe:
            chosen[name] = safe[name]
            named.add(name)
        elif name is None and (outside := containing(root, absolute)) is not None:
            chosen[outside.id] = outside  # an example folder named on the command line
            named.add(outside.id)
    return sorted(chosen.values(), key=lambda s: s.id), named, found.refused_for(refused)


def check(
    root: Path,
    settings: Settings,
    *,
    paths: list[Path] | None = None,
    base: str | None = None,
    as_of: dt.datetime | None = None,
    progress: ProgressFor | None = None,
    notice: Notice | None = None,
) -> CheckReport:
    """`notice` hears of slow one-off work (building the order index after a fresh clone)."""
    found = scan(root)
    if base is not None:  # a pull request: what merges is the commit, where git records links
        with Workspace(root) as ws:
            for rel, kind in gitops.special_entries(ws.repo, "HEAD", SUBMISSIONS_DIR):
                found.refuse(rel, kind)
    snap = snapshot.take(root, settings, found)
    folders, named, refused = select(snap, paths)
    report = CheckReport()
    report.findings += refused
    if base is not None:
        changed = repo_rules.ChangeSet.since(root, base)
        report.findings += changed.findings
        folders = [f for f in folders if changed.touches(f.rel)] if not paths else folders
        if changed.settings_changed:
            folders = sorted({*folders, *(s.folder for s in snap.submissions)}, key=lambda s: s.id)
    if not paths:
        report.findings += [_stray(root, folder) for folder in snap.scan.strays]
    report.submissions = check_folders(
        snap, folders, as_of=as_of, named=named, progress=progress, notice=notice
    )
    for sub in report.submissions:
        report.findings += sub.findings
    return report


def check_folders(
    snap: Snapshot,
    folders: list[SubmissionFolder],
    *,
    as_of: dt.datetime | None = None,
    named: set[str] | frozenset[str] = frozenset(),
    progress: ProgressFor | None = None,
    notice: Notice | None = None,
) -> list[SubmissionReport]:
    """Check each folder, then the rules across the repository. Delivered ones only if named."""
    root, settings = snap.root, snap.settings
    assert settings is not None, "checking needs settings"
    now = dt.datetime.now(dt.UTC)
    reports = []
    for seen in snap.of(folders):
        sub = SubmissionReport(seen.folder)
        sub.receipt, sub.findings = seen.receipt, list(seen.receipt_findings)
        if seen.history and seen.id not in named:
            continue
        moment = as_of or _sent_at(sub.receipt) or now
        sub.manifest, sub.csv_path = seen.manifest, seen.csv_path
        sub.findings += seen.loaded.findings
        if sub.manifest is not None:
            sub.findings += unexpected(seen.folder, sub.manifest.file)
        if sub.manifest is not None and sub.csv_path is not None:
            rel = sub.csv_path.relative_to(root).as_posix()
            if sub.csv_path.is_file():
                sub.csv_bytes = sub.csv_path.stat().st_size
            tell = progress(rel, sub.csv_path.stat().st_size) if progress else None
            sub.csv = check_csv(
                sub.csv_path,
                rel,
                sub.manifest.template,
                _context(settings, sub.manifest, moment),
                tell,
            )
            if tell is not None:
                tell(-1)  # done: a progress display clears itself
            sub.findings += sub.csv.findings
        reports.append(sub)
    history = repo_rules.History.load(snap, reports, notice)
    for sub in reports:
        sub.findings += history.rules_for(sub)
    return reports


def _stray(root: Path, folder: Path) -> Finding:
    rel = folder.relative_to(root).as_posix()
    near = [p.name for p in folder.iterdir() if p.name.lower() in ("manifest.yml", "manifest.yaml")]
    hint = (
        f"rename {near[0]} to {MANIFEST_FILE}"
        if near
        else f"add a {MANIFEST_FILE} (retrobatch new or retrobatch import make one)"
    )
    return finding(
        "manifest.missing",
        rel,
        f"{rel}/ has no {MANIFEST_FILE}: it is not a submission and would never be sent",
        hint=hint,
    )


def _context(settings: Settings, manifest: Manifest, as_of: dt.datetime) -> CsvContext:
    destination = settings.destination(manifest.event_type)
    return CsvContext(
        event_type=manifest.event_type,
        as_of=as_of,
        app=bool(destination and destination.app),
        custom_reasons=settings.reason_codes(manifest.event_type),
        max_email_bytes=settings.max_email_bytes,
        known_event_types=frozenset(int(key) for key in settings.destinations),
    )


def _sent_at(receipt: Receipt | None) -> dt.datetime | None:
    if receipt is None or not receipt.delivered or not receipt.sent_at:
        return None
    return parse_timestamp(receipt.sent_at)
