"""Rules no schema can express because they look across the repository and its history."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import gitops
from .csvcheck import collect_keys
from .findings import Finding, finding
from .manifest import load_manifest
from .receipts import RECEIPT_FILE, load_receipt, parse_receipt
from .submissions import SUBMISSIONS_DIR, discover
from .templates import is_conversion

if TYPE_CHECKING:
    from .checker import SubmissionReport

MODIFICATION_LIMIT = 1000  # impact.com: at most 1,000 modifications per action
MAX_LISTED = 1000  # per rule and submission, like csv.truncated


@dataclass
class _Entry:
    id: str
    template: str
    event_type: int
    delivered: bool
    csv_path: Path | None
    _keys: tuple[dict[str, int], dict[str, tuple[int, int]]] | None = None

    def keys(self) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
        if self._keys is None:
            self._keys = collect_keys(self.csv_path, self.template) if self.csv_path else ({}, {})
        return self._keys


@dataclass
class History:
    """Every submission in the working tree, with its orders and actions read on demand."""

    root: Path
    entries: list[_Entry] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path, checked: Sequence[SubmissionReport] = ()) -> History:
        """`checked` are submissions read in this run: their orders are not read a second time."""
        known = {s.id: (s.csv.orders, s.csv.actions) for s in checked if s.csv is not None}
        entries = []
        for folder in discover(root):
            receipt, problems = load_receipt(folder.folder, root)
            loaded = load_manifest(folder.folder, root, None)
            if loaded.manifest is None:
                continue
            delivered = bool(problems) or (receipt is not None and receipt.delivered)
            m = loaded.manifest
            # By folder: a manifest whose id differs (manifest.id-mismatch) is still this one.
            entry = _Entry(folder.id, m.template, m.event_type, delivered, loaded.csv_path)
            entry._keys = known.get(folder.id)
            entries.append(entry)
        return cls(root, entries)

    def rules_for(self, sub: SubmissionReport) -> list[Finding]:
        if sub.manifest is None or sub.csv is None or sub.delivered or sub.csv_path is None:
            return []
        if is_conversion(sub.manifest.template):
            return list(self._duplicate_orders(sub))
        return list(self._modification_limit(sub))

    def _earlier_conversions(self, sub: SubmissionReport) -> Iterator[_Entry]:
        """Delivered conversion batches, then pending ones that sort before `sub`, of its event
        type: where an order of `sub` would be a second send."""
        assert sub.manifest is not None
        same = [
            e
            for e in self.entries
            if e.id != sub.id
            and is_conversion(e.template)
            and e.event_type == sub.manifest.event_type
        ]
        yield from (e for e in same if e.delivered)
        yield from (e for e in same if not e.delivered and e.id < sub.id)

    def _duplicate_orders(self, sub: SubmissionReport) -> Iterator[Finding]:
        assert sub.csv is not None and sub.csv_path is not None
        rel = sub.csv_path.relative_to(self.root).as_posix()
        seen: set[str] = set()
        listed = 0
        for other in self._earlier_conversions(sub):
            orders = other.keys()[0]
            clash = [o for o in sub.csv.orders if o in orders and o not in seen]
            seen.update(clash)
            how = "was already delivered in" if other.delivered else "is also in pending"
            for order in clash:
                listed += 1
                if listed > MAX_LISTED:
                    continue
                yield finding(
                    "repo.duplicate-order",
                    rel,
                    f"order {order!r} {how} {other.id} (line {orders[order]})",
                    sub.csv.orders[order],
                    "OrderId",
                )
        if listed > MAX_LISTED:
            yield finding(
                "repo.duplicate-order",
                rel,
                f"{listed - MAX_LISTED:,} more orders were sent or are pending elsewhere",
            )

    def _modification_limit(self, sub: SubmissionReport) -> Iterator[Finding]:
        assert sub.csv is not None and sub.csv_path is not None
        rel = sub.csv_path.relative_to(self.root).as_posix()
        before: dict[str, int] = {}
        for other in self.entries:
            if other.delivered and not is_conversion(other.template) and other.id != sub.id:
                for key, (rows, _line) in other.keys()[1].items():
                    before[key] = before.get(key, 0) + rows
        for key, (rows, line) in sub.csv.actions.items():
            total = before.get(key, 0) + rows
            if total > MODIFICATION_LIMIT:
                yield finding(
                    "repo.modification-limit",
                    rel,
                    f"action {key.split(':', 1)[1]} would reach {total:,} modifications "
                    f"({before.get(key, 0):,} delivered + {rows:,} here); impact.com allows "
                    f"{MODIFICATION_LIMIT:,}",
                    line,
                )


@dataclass
class ChangeSet:
    """What a pull request changed since its merge base, and which of it touches history."""

    base: str
    paths: list[str]
    findings: list[Finding]

    @property
    def settings_changed(self) -> bool:
        return "retrobatch.yaml" in self.paths

    def touches(self, folder_rel: str) -> bool:
        prefix = folder_rel.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in self.paths)

    @classmethod
    def since(cls, root: Path, ref: str) -> ChangeSet:
        repo = gitops.open_repo(root)
        base = gitops.merge_base(repo, ref)
        paths = gitops.changed_paths(repo, base)
        findings: list[Finding] = []
        states: dict[str, str | None] = {}
        for path in paths:
            parts = path.split("/")
            if len(parts) < 3 or parts[0] != SUBMISSIONS_DIR:
                continue
            sub_id = parts[1]
            if sub_id not in states:
                receipt_rel = f"{SUBMISSIONS_DIR}/{sub_id}/{RECEIPT_FILE}"
                data = gitops.read_at(repo, base, receipt_rel)
                receipt = None
                if data is not None:
                    receipt, _ = parse_receipt(data.decode("utf-8", "replace"), receipt_rel)
                states[sub_id] = receipt.state if receipt else None
            state = states[sub_id]
            if state is not None and state != "failed":
                findings.append(
                    finding(
                        "repo.sent-changed",
                        path,
                        f"{sub_id} was already {state} at {base[:12]}: delivered submissions are "
                        "history; send a correction as a new modifications submission",
                    )
                )
            elif parts[2] == RECEIPT_FILE and (root / path).exists():
                findings.append(
                    finding(
                        "repo.receipt-in-change",
                        path,
                        "receipts are written only by retrobatch run, resolve and reconcile; "
                        "remove it from this change",
                    )
                )
        return cls(base, paths, findings)
