"""`retrobatch check` as a function: which submissions to read, and every finding about them.

Selection and semantics follow the contract's "What check covers": the working tree is read;
delivered submissions are history, re-validated only when named (as of their `sent_at`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import repo_rules
from .csvcheck import CsvContext, CsvResult, CsvStats, Progress, check_csv
from .errors import UsageError
from .findings import Finding, count, finding
from .manifest import MANIFEST_FILE, Manifest, load_manifest
from .receipts import Receipt, load_receipt, parse_timestamp
from .settings import SETTINGS_FILE, Settings
from .submissions import SubmissionFolder, containing, discover, strays

# Given a CSV's path and size, a callback for its progress (bytes read; -1 when done), or None.
ProgressFor = Callable[[str, int], Progress | None]


@dataclass
class SubmissionReport:
    folder: SubmissionFolder
    manifest: Manifest | None = None
    csv_path: Path | None = None
    receipt: Receipt | None = None
    csv: CsvResult | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.folder.id

    @property
    def delivered(self) -> bool:
        return self.receipt is not None and self.receipt.delivered

    @property
    def stats(self) -> CsvStats | None:
        return self.csv.stats if self.csv else None

    @property
    def csv_path_rel(self) -> str:
        if self.csv_path is None:
            return self.folder.rel
        return f"{self.folder.rel}/{self.csv_path.relative_to(self.folder.folder).as_posix()}"


@dataclass
class CheckReport:
    submissions: list[SubmissionReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # every finding, in report order

    @property
    def errors(self) -> int:
        return count(self.findings, "error") + self.hidden_count("error")

    @property
    def warnings(self) -> int:
        return count(self.findings, "warning") + self.hidden_count("warning")

    @property
    def hidden(self) -> dict[tuple[str, str, str | None], int]:
        """Findings past a file's listing limit, by (path, code, column)."""
        out: dict[tuple[str, str, str | None], int] = {}
        for sub in self.submissions:
            if sub.csv is not None:
                rel = sub.csv_path_rel
                for (code, column, _severity), n in sub.csv.hidden.items():
                    out[(rel, code, column)] = out.get((rel, code, column), 0) + n
        return out

    def hidden_count(self, severity: str) -> int:
        return sum(
            n
            for sub in self.submissions
            if sub.csv is not None
            for (_code, _column, sev), n in sub.csv.hidden.items()
            if sev == severity
        )


def end_of_day(day: dt.date) -> dt.datetime:
    """`--as-of DATE` stands for the end of that UTC day."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)


def parse_as_of(text: str, source: str = "--as-of ") -> dt.datetime:
    """`source` names where the text came from (the option, or `RETROBATCH_AS_OF=`)."""
    try:
        return end_of_day(dt.date.fromisoformat(text))
    except ValueError:
        raise UsageError(f"{source}{text!r}: expected a date, YYYY-MM-DD") from None


def select(root: Path, paths: list[Path] | None) -> tuple[list[SubmissionFolder], set[str]]:
    """The folders to check, and the ids named explicitly (checked even when delivered)."""
    if not paths:
        return discover(root), set()
    chosen: dict[str, SubmissionFolder] = {}
    named: set[str] = set()
    for path in paths:
        absolute = path if path.is_absolute() else Path.cwd() / path
        if not absolute.exists():
            raise UsageError(f"{path}: no such file or folder")
        if absolute.resolve() == (root / SETTINGS_FILE).resolve():
            for sub in discover(root):
                chosen.setdefault(sub.id, sub)
            continue
        sub = containing(root, absolute)
        if sub is not None:
            chosen[sub.id] = sub
            named.add(sub.id)
    return sorted(chosen.values(), key=lambda s: s.id), named


def check(
    root: Path,
    settings: Settings,
    *,
    paths: list[Path] | None = None,
    base: str | None = None,
    as_of: dt.datetime | None = None,
    progress: ProgressFor | None = None,
) -> CheckReport:
    folders, named = select(root, paths)
    report = CheckReport()
    if base is not None:
        changed = repo_rules.ChangeSet.since(root, base)
        report.findings += changed.findings
        folders = [f for f in folders if changed.touches(f.rel)] if not paths else folders
        if changed.settings_changed:
            folders = sorted({*folders, *discover(root)}, key=lambda s: s.id)
    if not paths:
        report.findings += [_stray(root, folder) for folder in strays(root)]
    report.submissions = check_folders(
        root, settings, folders, as_of=as_of, named=named, progress=progress
    )
    for sub in report.submissions:
        report.findings += sub.findings
    return report


def check_folders(
    root: Path,
    settings: Settings,
    folders: list[SubmissionFolder],
    *,
    as_of: dt.datetime | None = None,
    named: set[str] | frozenset[str] = frozenset(),
    progress: ProgressFor | None = None,
) -> list[SubmissionReport]:
    """Check each folder, then the rules across the repository. Delivered ones only if named."""
    now = dt.datetime.now(dt.UTC)
    reports = []
    for folder in folders:
        sub = SubmissionReport(folder)
        sub.receipt, sub.findings = load_receipt(folder.folder, root)
        unreadable_receipt = bool(sub.findings)
        if (sub.delivered or unreadable_receipt) and folder.id not in named:
            continue
        moment = as_of or _sent_at(sub.receipt) or now
        loaded = load_manifest(folder.folder, root, settings)
        sub.manifest, sub.csv_path = loaded.manifest, loaded.csv_path
        sub.findings += loaded.findings
        if sub.manifest is not None and sub.csv_path is not None:
            rel = sub.csv_path.relative_to(root).as_posix()
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
    history = repo_rules.History.load(root, reports)
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
