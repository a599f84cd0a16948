"""Rules no schema can express because they look across the repository and its history."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from retrobatch.check.order_index import OrderIndex, key_hashes
from retrobatch.check.result import SubmissionReport
from retrobatch.csvfile.templates import is_conversion
from retrobatch.csvfile.validate import collect_keys
from retrobatch.findings import Finding, finding
from retrobatch.repository import gitops
from retrobatch.repository.receipts import RECEIPT_FILE, parse_receipt
from retrobatch.repository.settings import SETTINGS_FILE, Destination, parse_settings
from retrobatch.repository.snapshot import Snapshot
from retrobatch.repository.submissions import SUBMISSIONS_DIR
from retrobatch.repository.workspace import Workspace
from retrobatch.repository.yamldoc import load_yaml

if TYPE_CHECKING:
    import git

MODIFICATION_LIMIT = 1000  # impact.com: at most 1,000 modifications per action
MAX_LISTED = 1000  # per rule and submission, like csv.truncated


@dataclass
class _Entry:
    id: str
    template: str
    event_type: int
    delivered: bool
    csv_path: Path | None
    _keys: tuple[Mapping[str, int], Mapping[str, tuple[int, int]]] | None = None

    @property
    def known(self) -> bool:
        """Its keys are at hand (read in this run): no index needed."""
        return self._keys is not None

    def keys(self) -> tuple[Mapping[str, int], Mapping[str, tuple[int, int]]]:
        if self._keys is None:
            self._keys = collect_keys(self.csv_path, self.template) if self.csv_path else ({}, {})
        return self._keys


@dataclass
class History:
    """Every submission of the snapshot; the keys of those not read in this run come from the
    order index, and a CSV is read only when its index shares a key with the batch checked."""

    root: Path
    entries: list[_Entry] = field(default_factory=list)
    index: OrderIndex | None = None
    _mine: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        snap: Snapshot,
        checked: Sequence[SubmissionReport] = (),
        notice: Callable[[str], None] | None = None,
    ) -> History:
        """`checked` are submissions read in this run: their orders are not read a second time."""
        known = {s.id: (s.csv.orders, s.csv.actions) for s in checked if s.csv is not None}
        entries = []
        for sub in snap.submissions:
            m = sub.manifest
            if m is None:
                continue
            # By folder: a manifest whose id differs (manifest.id-mismatch) is still this one.
            entry = _Entry(sub.id, m.template, m.event_type, sub.history, sub.csv_path)
            entry._keys = known.get(sub.id)
            entries.append(entry)
        history = cls(snap.root, entries)
        asking = [s for s in checked if s.csv is not None and not s.delivered and s.manifest]
        if asking:
            history.index = OrderIndex(snap.root, notice)
            needed = {e.id: e for s in asking for e in history._compared(s) if not e.known}
            history.index.prepare(
                [(e.csv_path, e.template) for e in needed.values() if e.csv_path is not None]
            )
        return history

    def _compared(self, sub: SubmissionReport) -> list[_Entry]:
        assert sub.manifest is not None
        if is_conversion(sub.manifest.template):
            return list(self._earlier_conversions(sub))
        return [e for e in self.entries if self._counts_for_limit(e, sub)]

    def _shares_keys(self, other: _Entry, sub: SubmissionReport, keys: Iterable[str]) -> bool:
        """Whether `other` may hold one of `keys`: from the index, without reading its CSV."""
        if other.known or other.csv_path is None:
            return True
        if self.index is None:
            self.index = OrderIndex(self.root)
        mine = self._mine.get(sub.id)
        if mine is None:
            mine = self._mine[sub.id] = key_hashes(keys)
        return not mine.isdisjoint(self.index.hashes(other.csv_path, other.template))

    def rules_for(self, sub: SubmissionReport) -> list[Finding]:
        if sub.manifest is None or sub.csv is None or sub.delivered or sub.csv_path is None:
            return []
        if is_conversion(sub.manifest.template):
            return list(self._duplicate_orders(sub))
        return list(self._modification_limit(sub))

    @staticmethod
    def _counts_for_limit(other: _Entry, sub: SubmissionReport) -> bool:
        return other.delivered and not is_conversion(other.template) and other.id != sub.id

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
            if not self._shares_keys(other, sub, sub.csv.orders):
                continue
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
            if self._counts_for_limit(other, sub) and self._shares_keys(
                other, sub, sub.csv.actions
            ):
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
        with Workspace(root) as ws:
            return cls._since(ws.repo, root, ref)

    @classmethod
    def _since(cls, repo: git.Repo, root: Path, ref: str) -> ChangeSet:
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
        if SETTINGS_FILE in paths:
            findings += settings_changes(
                gitops.read_at(repo, base, SETTINGS_FILE), _working_settings(root)
            )
        return cls(base, paths, findings)


def _working_settings(root: Path) -> bytes | None:
    path = root / SETTINGS_FILE
    if path.is_symlink() or not path.is_file():
        return None
    return path.read_bytes()


def settings_changes(old: bytes | None, new: bytes | None) -> list[Finding]:
    """Warnings on retrobatch.yaml for what a reviewer must see: where batches go (destinations
    added, removed or redirected), who may be copied (domains added to cc_allowed_domains) and
    who they come from (sender), each with the old and the new value."""
    before, _ = parse_settings(old.decode("utf-8", "replace")) if old else (None, [])
    after, _ = parse_settings(new.decode("utf-8", "replace")) if new else (None, [])
    if after is None:
        return []  # the new file does not load: its own findings say why
    doc = load_yaml(new.decode("utf-8", "replace")) if new else None

    def line(*path: str | int) -> int | None:
        return doc.line_of(path) if doc else None

    def warn(message: str, at: int | None) -> Finding:
        return finding("config.reviewed-change", SETTINGS_FILE, message, at)

    found: list[Finding] = []
    was = before.destinations if before else {}
    for key in sorted(was.keys() | after.destinations.keys(), key=lambda k: (len(k), k)):
        old_dest, new_dest = was.get(key), after.destinations.get(key)
        if old_dest == new_dest:
            continue
        if old_dest is None:
            assert new_dest is not None
            found.append(
                warn(
                    f"destination {key} ({new_dest.name}) added: batches of event type {key} "
                    f"will be e-mailed to {new_dest.address}",
                    line("destinations", key),
                )
            )
        elif new_dest is None:
            found.append(
                warn(f"destination {key} ({old_dest.name}) removed: was {old_dest.address}", 1)
            )
        elif old_dest.address != new_dest.address:
            found.append(
                warn(
                    f"destination {key} ({new_dest.name}) redirected: {old_dest.address} -> "
                    f"{new_dest.address}",
                    line("destinations", key, "address"),
                )
            )
        else:
            found.append(
                warn(
                    f"destination {key} changed: {_describe(old_dest)} -> {_describe(new_dest)}",
                    line("destinations", key),
                )
            )
    old_domains = {d.lower() for d in before.cc_allowed_domains} if before else set()
    for i, domain in enumerate(after.cc_allowed_domains):
        if domain.lower() not in old_domains:
            shown = ", ".join(sorted(old_domains)) or "none"
            found.append(
                warn(
                    f"cc_allowed_domains adds {domain}: manifests may now copy batches to "
                    f"addresses there (before: {shown})",
                    line("cc_allowed_domains", i),
                )
            )
    if before is None or before.sender != after.sender:
        old_sender = before.sender if before else "none"
        found.append(warn(f"sender changed: {old_sender} -> {after.sender}", line("sender")))
    return found


def _describe(dest: Destination) -> str:
    return f"{dest.name}, {dest.address}" + (", app" if dest.app else "")
