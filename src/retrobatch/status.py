"""`retrobatch status`: where each submission stands, from its files and its receipt."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .csvcheck import CsvContext, CsvStats, check_csv
from .manifest import Manifest, load_manifest
from .receipts import Receipt, load_receipt, parse_timestamp
from .settings import Settings
from .submissions import SubmissionFolder, discover


@dataclass
class SubmissionStatus:
    id: str
    state: str  # a receipt state, `pending` without a receipt, `invalid` when unreadable
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
        }


def collect(root: Path, settings: Settings, only: str | None = None) -> list[SubmissionStatus]:
    """Status of every submission (or of `only`), reading each CSV once for its figures."""
    result = []
    for folder in discover(root):
        if only is not None and folder.id != only:
            continue
        receipt, receipt_problems = load_receipt(folder.folder, root)
        state = receipt.state if receipt else ("invalid" if receipt_problems else "pending")
        status = SubmissionStatus(folder.id, state, folder, receipt=receipt)
        status.problems = [f.message for f in receipt_problems]
        loaded = load_manifest(folder.folder, root, settings)
        status.manifest = loaded.manifest
        if loaded.manifest and loaded.csv_path:
            moment = (
                parse_timestamp(receipt.sent_at)
                if receipt and receipt.sent_at
                else dt.datetime.now(dt.UTC)
            )
            context = CsvContext(event_type=loaded.manifest.event_type, as_of=moment)
            rel = loaded.csv_path.relative_to(root).as_posix()
            status.stats = check_csv(loaded.csv_path, rel, loaded.manifest.template, context).stats
        result.append(status)
    return result


def format_amounts(amounts: dict[str, Decimal]) -> str:
    """`1,234.50 USD, 99.00 EUR`; amounts without a CurrencyCode are the account's default."""
    parts = [f"{v:,.2f} {k or 'default currency'}" for k, v in sorted(amounts.items())]
    return ", ".join(parts) or "-"
