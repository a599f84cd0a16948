"""What impact.com did with each sent file, recorded in the receipts, and its errors traced to rows.

Matching is by FileName equal to the attachment name and nothing else (README.md, "Reconciling
with impact.com"): several such files mean the earliest submitted after the part's `sent_at`;
none within `reconcile_window_hours` is recorded as `unmatched`, which is final. No printing and
no git here: the CLI reports and commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from retrobatch.csvfile.records import RecordReader
from retrobatch.csvfile.templates import column_index
from retrobatch.reconcile import impact_errors
from retrobatch.reconcile.api import (
    ErrorDetail,
    FileSubmission,
    ImpactApiError,
    api_time,
    parse_api_time,
)
from retrobatch.repository.ledger import write_receipt
from retrobatch.repository.manifest import load_manifest
from retrobatch.repository.receipts import (
    EmailPart,
    Processing,
    Receipt,
    now_utc,
    parse_timestamp,
    timestamp,
)
from retrobatch.repository.settings import Settings
from retrobatch.repository.snapshot import Snapshot, take
from retrobatch.repository.submissions import SUBMISSIONS_DIR, SubmissionFolder

COMPLETE = "Complete"
UNMATCHED = "unmatched"
FINAL_STATUSES = frozenset({COMPLETE, UNMATCHED})
RECONCILED_STATES = frozenset({"sent", "partial"})
PART_NAME = re.compile(r"^(?P<id>.+)\.part-(?P<n>[0-9]{1,9})-of-(?P<m>[0-9]{1,9})\.csv$")


class SubmissionSource(Protocol):
    """What reconcile needs from impact.com; `impact_api.ImpactClient` is the real one."""

    def list_submissions(
        self, start: dt.datetime, end: dt.datetime | None = None
    ) -> list[FileSubmission]: ...

    def error_details(self, batch_id: str) -> list[ErrorDetail]: ...


@dataclass(frozen=True)
class ReceiptChange:
    folder: SubmissionFolder
    receipt: Receipt
    before: str  # the receipt's state before this run
    parts: tuple[Processing, ...]  # the entries this run recorded


@dataclass
class ReconcileResult:
    changed: list[ReceiptChange] = field(default_factory=list)
    asked: int = 0  # parts looked up at impact.com
    skipped: list[str] = field(default_factory=list)  # why a receipt or part was not asked about
    failure: str | None = None  # the fetch that stopped the run


def outstanding_parts(receipt: Receipt) -> list[EmailPart]:
    """Accepted parts whose processing is not final yet: the only ones worth asking about."""
    if receipt.state not in RECONCILED_STATES:
        return []
    final = {p.attachment for p in receipt.processing if p.status in FINAL_STATUSES}
    return [p for p in receipt.emails if p.state == "sent" and p.attachment not in final]


def match_submission(
    candidates: Sequence[FileSubmission], attachment: str, sent_at: dt.datetime, until: dt.datetime
) -> FileSubmission | None:
    """The earliest file named like the attachment submitted in [sent_at, until]; no guessing."""
    named = [
        c
        for c in candidates
        if c.file_name == attachment
        and c.submitted_at is not None
        and sent_at <= c.submitted_at <= until
    ]
    return min(named, key=lambda c: (c.submitted_at, c.batch_id), default=None)


def processing_from(
    found: FileSubmission, errors: Sequence[ErrorDetail], attachment: str, now: dt.datetime
) -> Processing:
    completed = parse_api_time(found.completion_date) if found.completion_date else None
    return Processing(
        attachment=attachment,
        status=found.status,
        checked_at=timestamp(now),
        batch_id=found.batch_id or None,
        type=found.type,
        submitted_at=timestamp(found.submitted_at) if found.submitted_at else None,
        completed_at=timestamp(completed) if completed else found.completion_date,
        total_records=found.total_records,
        total_errors=found.total_errors,
        errors=[
            {
                "line": e.line,
                "order_id": e.order_id,
                "sku": e.sku,
                "status": e.status,
                "reason": e.reason,
                # v14 fields, kept only when impact.com sends them
                **({"event_code": e.event_code} if e.event_code else {}),
                **({"uri": e.uri} if e.uri else {}),
            }
            for e in errors
        ],
    )


def _same(a: Processing | None, b: Processing) -> bool:
    """Equal but for `checked_at`, so an hourly run that learns nothing commits nothing."""
    return a is not None and replace(a, checked_at="") == replace(b, checked_at="")


class _CachedSource:
    """One listing per searched range per run: parts sent together share their query."""

    def __init__(self, source: SubmissionSource) -> None:
        self._source = source
        self._lists: dict[tuple[dt.datetime, dt.datetime | None], list[FileSubmission]] = {}

    def list_submissions(
        self, start: dt.datetime, end: dt.datetime | None = None
    ) -> list[FileSubmission]:
        if (start, end) not in self._lists:
            self._lists[(start, end)] = self._source.list_submissions(start, end)
        return self._lists[(start, end)]

    def error_details(self, batch_id: str) -> list[ErrorDetail]:
        return self._source.error_details(batch_id)


def reconcile_receipt(
    receipt: Receipt,
    source: SubmissionSource,
    *,
    window_hours: int,
    now: dt.datetime | None = None,
) -> tuple[list[Processing], list[str]]:
    """Update the receipt in place; return the entries that changed and the parts not asked."""
    now = now or now_utc()
    window = dt.timedelta(hours=window_hours)
    changed: list[Processing] = []
    skipped: list[str] = []
    for part in outstanding_parts(receipt):
        sent_text = part.sent_at or receipt.sent_at
        if not sent_text:
            skipped.append(f"{receipt.submission}: {part.attachment} has no sent_at to search from")
            continue
        sent_at = parse_timestamp(sent_text)
        until = sent_at + window
        found = match_submission(
            source.list_submissions(sent_at, until), part.attachment, sent_at, until
        )
        if found is None:
            if now < until:
                continue
            entry = Processing(
                attachment=part.attachment,
                status=UNMATCHED,
                checked_at=timestamp(now),
                searched=f"FileName {part.attachment!r} submitted from {api_time(sent_at)} "
                f"to {api_time(until)} ({window_hours} h)",
            )
        else:
            wants_errors = found.status == COMPLETE and found.total_errors != 0
            errors = source.error_details(found.batch_id) if wants_errors else []
            entry = processing_from(found, errors, part.attachment, now)
        old = next((p for p in receipt.processing if p.attachment == part.attachment), None)
        if _same(old, entry):
            continue
        receipt.processing = [p for p in receipt.processing if p is not old] + [entry]
        changed.append(entry)
    order = {p.attachment: i for i, p in enumerate(receipt.emails)}
    receipt.processing.sort(key=lambda p: order.get(p.attachment, len(order)))
    if changed and _all_complete(receipt):
        receipt.state = "processed"
    return changed, skipped


def _all_complete(receipt: Receipt) -> bool:
    status = {p.attachment: p.status for p in receipt.processing}
    return bool(receipt.emails) and all(
        p.state == "sent" and status.get(p.attachment) == COMPLETE for p in receipt.emails
    )


def _receipts(
    root: Path, snap: Snapshot | None
) -> Iterator[tuple[SubmissionFolder, Receipt | None, str | None]]:
    for sub in (snap or take(root, None)).submissions:
        problems = sub.receipt_findings
        why = f"{sub.id}: receipt unreadable: {problems[0].message}" if problems else None
        yield sub.folder, sub.receipt, why


def outstanding(root: Path, snap: Snapshot | None = None) -> list[SubmissionFolder]:
    """Submissions with a part still to ask about: with none, reconcile needs no credentials."""
    return [
        sub for sub, receipt, _ in _receipts(root, snap) if receipt and outstanding_parts(receipt)
    ]


def reapply(read: Callable[[str], Receipt | None], result: ReconcileResult) -> dict[str, Receipt]:
    """The receipts as HEAD has them with this run's entries on top: the ledger's update, so
    a receipt another writer changed meanwhile keeps that change."""
    changes = {}
    for change in result.changed:
        receipt = read(change.folder.rel)
        if receipt is None:
            continue
        mine = {p.attachment for p in change.parts}
        kept = [p for p in receipt.processing if p.attachment not in mine]
        receipt.processing = kept + list(change.parts)
        order = {p.attachment: i for i, p in enumerate(receipt.emails)}
        receipt.processing.sort(key=lambda p: order.get(p.attachment, len(order)))
        if receipt.state in ("sent", "processed") and _all_complete(receipt):
            receipt.state = "processed"
        changes[change.folder.rel] = receipt
    return changes


def reconcile_repository(
    root: Path,
    settings: Settings,
    source: SubmissionSource,
    now: dt.datetime | None = None,
    snap: Snapshot | None = None,
) -> ReconcileResult:
    """Ask about every outstanding part and write the receipts that changed.

    A fetch failure stops the run (the same cause would fail every later request) but keeps the
    receipts already updated, so the CLI can commit them and exit 1.
    """
    now = now or now_utc()
    result = ReconcileResult()
    source = _CachedSource(source)
    for sub, receipt, unreadable in _receipts(root, snap):
        if receipt is None:
            result.skipped += [unreadable] if unreadable else []
            continue
        result.asked += len(outstanding_parts(receipt))
        before = receipt.state
        try:
            changed, skipped = reconcile_receipt(
                receipt, source, window_hours=settings.reconcile_window_hours, now=now
            )
        except ImpactApiError as exc:
            result.failure = f"{sub.id}: {exc}"
            return result
        result.skipped += skipped
        if changed:
            write_receipt(sub.folder, receipt)
            result.changed.append(ReceiptChange(sub, receipt, before, tuple(changed)))
    return result


# --- errors back to rows ---------------------------------------------------------------------


@dataclass(frozen=True)
class MappedError:
    """One impact.com error, placed on the committed CSV where that can be done reliably."""

    attachment: str
    line: int | None  # impact.com's Line, in the attachment (header = line 1)
    csv_path: str | None  # the committed CSV, relative to the repository root
    csv_line: int | None  # where the record starts in the committed CSV; None when not placed
    order_id: str  # the record's OrderId when placed, else impact.com's
    sku: str
    status: str
    reason: str  # impact.com's code, as it came
    explanation: str | None  # what the code means (impact_errors); None for an unknown code
    placed_by: Literal["line", "order_id"] | None  # how csv_line was found
    note: str | None = None  # why the Line was not used, or a disagreement worth seeing
    fix: str | None = None  # what to do about it
    caught_by: tuple[str, ...] = ()  # finding codes with which check now stops the cause
    event_code: str = ""


@dataclass(frozen=True)
class _Record:
    first: int  # physical line where the record starts (header = 1)
    last: int
    raw: bytes
    fields: tuple[str, ...]


def _records(data: bytes) -> list[_Record]:
    """Records with their physical lines, read as the runner splits a batch (the shared
    reader): blank lines, which split parts drop, are left out; the first record is the
    header, whatever it holds."""
    found: list[_Record] = []
    for record in RecordReader(io.BytesIO(data)):
        if record.blank and found:
            continue
        fields = record.fields("utf-8-sig" if not found else "utf-8")
        found.append(_Record(record.first, record.last, record.raw, tuple(fields)))
    return found


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


Placed = list[tuple[int, _Record]]  # (line where the record starts in the attachment, record)


def _attachment_records(
    source: bytes, records: list[_Record], receipt: Receipt, part: EmailPart
) -> tuple[Placed, str | None]:
    """The attachment's records at their lines in it, or nothing and the reason why.

    A part is rebuilt as the runner builds it (header + the original lines of its orders, in
    file order, parts taking consecutive rows, blank lines dropped) and trusted only when its
    sha256 matches; a single attachment only when it is the committed file byte for byte.
    """
    named = PART_NAME.match(part.attachment)
    if named is None:
        if _sha256(source) == part.sha256:
            return [(r.first, r) for r in records], None
        return [], "the committed CSV differs from the attachment as sent (sha256)"
    total = int(named["m"])
    parts: dict[int, EmailPart] = {}
    for other in receipt.emails:
        name = PART_NAME.match(other.attachment)
        if name and int(name["m"]) == total:
            parts[int(name["n"])] = other
    if sorted(parts) != list(range(1, total + 1)):
        return [], f"the receipt lists {len(parts)} of the {total} parts"
    offset = 1 + sum(parts[n].rows for n in range(1, int(named["n"])))
    chosen = [records[0], *records[offset : offset + part.rows]]
    if len(chosen) != part.rows + 1 or _sha256(b"".join(r.raw for r in chosen)) != part.sha256:
        return [], "the part could not be rebuilt from the committed CSV (sha256 differs)"
    placed: Placed = []
    line = 1
    for record in chosen:
        placed.append((line, record))
        line += record.last - record.first + 1
    return placed, None


def _place(placed: Placed, line: int | None) -> _Record | None:
    """The data record covering the attachment's physical `line` (the header is no record)."""
    if line is None:
        return None
    for start, record in placed[1:]:
        if start <= line <= start + record.last - record.first:
            return record
    return None


def explain_errors(root: Path, receipt: Receipt, folder: Path | None = None) -> list[MappedError]:
    """impact.com's errors for every part, each placed on its CSV record and OrderId.

    What `retrobatch status ID` shows. A Line is trusted only when the attachment is provably
    the committed CSV (single part) or rebuilt from it byte for byte (split parts); otherwise
    the error is placed by impact.com's own OrderId (and Sku), and `note` says so.
    """
    folder = folder or root / SUBMISSIONS_DIR / receipt.submission
    template, csv_rel, source, unreadable = _committed_csv(root, folder)
    records = _records(source) if source is not None else []
    columns: tuple[int | None, int | None] = (None, None)
    if records:
        header = list(records[0].fields)
        columns = (column_index(template, header, "OrderId"), column_index(template, header, "Sku"))
    mapped: list[MappedError] = []
    for entry in receipt.processing:
        if not entry.errors:
            continue
        part = receipt.part(entry.attachment)
        placed: Placed = []
        why: str | None = unreadable
        if part is None:
            why = f"the receipt has no part {entry.attachment}"
        elif source is not None and records:
            placed, why = _attachment_records(source, records, receipt, part)
        elif source is not None:
            why = f"{csv_rel} has no header"
        for error in entry.errors:
            mapped.append(_map_one(error, entry.attachment, csv_rel, placed, records, columns, why))
    return mapped


def _committed_csv(root: Path, folder: Path) -> tuple[str, str | None, bytes | None, str]:
    """The manifest's template and CSV (path, bytes), or the reason the CSV cannot be read."""
    loaded = load_manifest(folder, root, None)
    if loaded.manifest is None or loaded.csv_path is None:
        return "", None, None, "the CSV named by the manifest cannot be read"
    rel = loaded.csv_path.relative_to(root).as_posix()
    try:
        return loaded.manifest.template, rel, loaded.csv_path.read_bytes(), ""
    except OSError as exc:
        return loaded.manifest.template, rel, None, f"cannot read {rel}: {exc.strerror}"


def _cell(record: _Record, column: int | None) -> str:
    return record.fields[column] if column is not None and column < len(record.fields) else ""


def _by_order(
    records: list[_Record], columns: tuple[int | None, int | None], order_id: str, sku: str
) -> _Record | None:
    """The first record of that order (of that Sku too, when both sides name one)."""
    order_col, sku_col = columns
    if not order_id or order_col is None:
        return None
    same = [r for r in records[1:] if _cell(r, order_col) == order_id]
    exact = [r for r in same if sku and _cell(r, sku_col) == sku]
    return (exact or same)[0] if same else None


def _map_one(
    error: dict[str, Any],
    attachment: str,
    csv_rel: str | None,
    placed: Placed,
    records: list[_Record],
    columns: tuple[int | None, int | None],
    why: str | None,
) -> MappedError:
    line = error.get("line") if isinstance(error.get("line"), int) else None
    reported = str(error.get("order_id") or "")
    sku = str(error.get("sku") or "")
    reason = str(error.get("reason") or "")
    known = impact_errors.lookup(reason)
    record = _place(placed, line) if placed else None
    placed_by: Literal["line", "order_id"] | None = "line" if record else None
    order_id, note = reported, None
    if record is not None:
        order_id = _cell(record, columns[0]) or reported
        if reported and reported != order_id:
            note = f"impact.com reports OrderId {reported!r} for this line"
    else:
        if placed:
            why = f"line {line} is not a data line of {attachment}"
        record = _by_order(records, columns, reported, sku)
        placed_by = "order_id" if record else None
        found = "placed by impact.com's OrderId" if record else "not placed on a row"
        note = f"{why}: {found}" if why else found
    return MappedError(
        attachment=attachment,
        line=line,
        csv_path=csv_rel,
        csv_line=record.first if record else None,
        order_id=order_id,
        sku=sku,
        status=str(error.get("status") or ""),
        reason=reason,
        explanation=known.meaning if known else None,
        placed_by=placed_by,
        note=note,
        fix=known.fix if known else None,
        caught_by=known.caught_by if known else (),
        event_code=str(error.get("event_code") or ""),
    )
