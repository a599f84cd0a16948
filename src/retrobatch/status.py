"""`retrobatch status`: where each submission stands, from its files and its receipt."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from retrobatch.csvfile.validate import CsvContext, CsvStats, check_csv
from retrobatch.repository import cachedir, snapshot
from retrobatch.repository.manifest import Manifest
from retrobatch.repository.receipts import Figures, Receipt, figures_of, parse_timestamp, stats_of
from retrobatch.repository.settings import Settings
from retrobatch.repository.submissions import SUBMISSIONS_DIR, SubmissionFolder

FIGURES_DIR = "figures"


@dataclass
class SubmissionStatus:
    id: str
    # a receipt state, `pending` without a receipt, `invalid` when the receipt is unreadable,
    # `refused` when the folder holds a link or special file and nothing in it is read
    state: str
    folder: SubmissionFolder
    manifest: Manifest | None = None
    receipt: Receipt | None = None
    stats: CsvStats | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def impact_status(self) -> str | None:
        """impact.com's word on the batch: one status, or each part's when they differ."""
        if self.receipt is None or not self.receipt.processing:
            return None
        statuses = sorted({p.status for p in self.receipt.processing})
        return statuses[0] if len(statuses) == 1 else "/".join(statuses)

    def to_dict(self) -> dict[str, object]:
        stats = self.stats
        return {
            "id": self.id,
            "state": self.state,
            "template": self.manifest.template if self.manifest else None,
            "event_type": self.manifest.event_type if self.manifest else None,
            "rows": stats.rows if stats else None,
            "orders": stats.orders if stats else None,
            "amounts": {k: str(v) for k, v in stats.amounts.items()} if stats else {},
            "first_event": stats.first_event if stats else None,
            "last_event": stats.last_event if stats else None,
            "sent_at": self.receipt.sent_at if self.receipt else None,
            "impact_status": self.impact_status,
            "problems": self.problems,
        }


def collect(
    root: Path,
    settings: Settings,
    only: str | None = None,
    notice: Callable[[str], None] | None = None,
) -> list[SubmissionStatus]:
    """Status of every submission (or of `only`). A delivered batch's figures come from its
    receipt; only a pending one's CSV is read (and an old receipt's, once: see `_Figures`).
    `notice` hears when that one-off measuring starts."""
    snap = snapshot.take(root, settings)
    figures = _Figures(root, notice)
    result = []
    for sub in snap.submissions:
        if only is not None and sub.id != only:
            continue
        receipt = sub.receipt
        state = receipt.state if receipt else ("invalid" if sub.receipt_findings else "pending")
        status = SubmissionStatus(sub.id, state, sub.folder, receipt=receipt)
        status.problems = [f.message for f in sub.receipt_findings]
        status.manifest = sub.manifest
        if sub.manifest and sub.csv_path:
            if receipt is not None and receipt.delivered:
                status.stats = figures.delivered(receipt, sub.manifest, sub.csv_path)
            else:
                status.stats = _measure(root, sub.manifest, sub.csv_path, dt.datetime.now(dt.UTC))
        result.append(status)
    for name, problems in snap.scan.refused.items():
        if only is not None and name != only:
            continue
        # `name` is a folder under submissions/, or submissions/ itself when that is a link
        rel = SUBMISSIONS_DIR if name == SUBMISSIONS_DIR else f"{SUBMISSIONS_DIR}/{name}"
        folder = SubmissionFolder(name, root / rel, rel)
        result.append(
            SubmissionStatus(
                name, "refused", folder, problems=[f"{f.path}: {f.message}" for f in problems]
            )
        )
    return sorted(result, key=lambda s: s.id)


def _measure(root: Path, manifest: Manifest, csv_path: Path, moment: dt.datetime) -> CsvStats:
    context = CsvContext(event_type=manifest.event_type, as_of=moment)
    rel = csv_path.relative_to(root).as_posix()
    return check_csv(csv_path, rel, manifest.template, context).stats


class _Figures:
    """A delivered batch's figures: its receipt's, or for a receipt written before receipts
    held them, measured once and kept in `.git/retrobatch/figures/<blob>.<template>.json`."""

    def __init__(self, root: Path, notice: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.notice = notice
        self.blobs = cachedir.Blobs(root, SUBMISSIONS_DIR)
        where = cachedir.cache_dir(root)
        self.folder = where / FIGURES_DIR if where is not None else None

    def delivered(self, receipt: Receipt, manifest: Manifest, csv_path: Path) -> CsvStats:
        if receipt.figures is not None:
            return stats_of(receipt.figures)
        moment = parse_timestamp(receipt.sent_at) if receipt.sent_at else dt.datetime.now(dt.UTC)
        try:
            target = self._file(self.blobs.of(csv_path), manifest.template)
        except OSError:
            target = None
        if target is not None:
            kept = _read_figures(target)
            if kept is not None:
                return stats_of(kept)
        if self.notice is not None:
            where = self.folder if self.folder is not None else "nowhere: no git folder"
            self.notice(
                "retrobatch: measuring the CSVs of receipts written before receipts held "
                f"figures, once (kept in {where})"
            )
            self.notice = None
        stats = _measure(self.root, manifest, csv_path, moment)
        if target is not None:
            with contextlib.suppress(OSError):
                cachedir.write_json(target, asdict(figures_of(stats)))
        return stats

    def _file(self, blob: str, template: str) -> Path | None:
        return self.folder / f"{blob}.{template}.json" if self.folder is not None else None


def _read_figures(path: Path) -> Figures | None:
    data = cachedir.read_json(path)
    if data is None:
        return None  # missing or damaged: measured again
    try:
        figures = Figures(**data)
    except TypeError:
        return None  # keys of another shape: measured again
    ok = isinstance(figures.rows, int) and isinstance(figures.orders, int)
    return figures if ok and isinstance(figures.amounts, dict) else None


def format_amounts(amounts: dict[str, Decimal]) -> str:
    """`1,234.50 USD, 99.00 EUR`; amounts without a CurrencyCode are the account's default."""
    parts = [f"{v:,.2f} {k or 'default currency'}" for k, v in sorted(amounts.items())]
    return ", ".join(parts) or "-"
