"""What impact.com did with each sent file, recorded in the receipts (its errors are traced to
rows in `rows.py`).

Matching is by FileName equal to the attachment name and nothing else (README.md, "Reconciling
with impact.com"): several such files mean the earliest submitted after the part's `sent_at`;
none within `reconcile_window_hours` is recorded as `unmatched`, which is final. No printing and
no git here: the CLI reports and commits.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from retrobatch.reconcile.api import (
    ErrorDetail,
    FileSubmission,
    ImpactApiError,
    api_time,
    parse_api_time,
)
from retrobatch.repository.ledger import write_receipt
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
from retrobatch.repository.submissions import SubmissionFolder

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


# Errors kept in a receipt per part. A batch impact.com refuses whole (a wrong event type, a
# date format) has as many errors as rows: a million of them would make a receipt of 150 MB in
# git, read by every later command. Past this, the receipt keeps the first ones, to place on
# their rows, and the count of every error by its reason; impact.com keeps them all.
KEPT_ERRORS = 1000


def processing_from(
    found: FileSubmission, errors: Sequence[ErrorDetail], attachment: str, now: dt.datetime
) -> Processing:
    completed = parse_api_time(found.completion_date) if found.completion_date else None
    by_reason = None
    if len(errors) > KEPT_ERRORS:
        counted = Counter(e.reason or "?" for e in errors)
        by_reason = dict(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))
        errors = errors[:KEPT_ERRORS]
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
        errors_by_reason=by_reason,
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


def refused(snap: Snapshot) -> list[str]:
    """Folders whose receipts are not read (a link or special file in them): said, since a
    part sent from one is not reconciled until it is cleaned up."""
    return [f"{f.path}: {f.message}" for found in snap.scan.refused.values() for f in found]


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
    snap = snap or take(root, None)
    result = ReconcileResult(skipped=refused(snap))
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
