"""What a change does to submissions, by order rather than by line.

A reviewer of a corrected batch cares which orders were added, dropped or edited (and which
fields), not that line 812 moved. Files are read from git blobs (or the working tree for the
head side), so only the two commits involved are ever read, never the whole history.

Defaults (`retrobatch diff [BASE [HEAD]]`): BASE is the branch's upstream, else `origin/main`,
else `main`; HEAD is the working tree. The comparison starts at the merge base of BASE and HEAD,
like `git diff BASE...HEAD` and `check --base`, so work that landed on main meanwhile is not
shown as removed.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import git

from retrobatch.csvfile.records import RecordReader
from retrobatch.csvfile.stream import looks_utf16
from retrobatch.csvfile.templates import load_template
from retrobatch.repository import gitops
from retrobatch.repository.manifest import MANIFEST_FILE, inside_folder
from retrobatch.repository.receipts import RECEIPT_FILE
from retrobatch.repository.schemas import TEMPLATES
from retrobatch.repository.settings import SETTINGS_FILE, Destination, parse_settings
from retrobatch.repository.submissions import SUBMISSIONS_DIR
from retrobatch.repository.workspace import Workspace
from retrobatch.repository.yamldoc import MAX_DOCUMENT_BYTES, load_yaml

# The first of these columns present in a header names the order (or action) of each line.
ORDER_COLUMNS = ("ActionId", "OrderId")
ITEM_COLUMN = "Sku"
MANIFEST_KEYS = ("template", "event_type", "file", "description", "requested_by", "ticket", "cc")


@dataclass(frozen=True)
class FieldChange:
    """One value that differs; `item` names the line of an order that has several (its Sku)."""

    column: str
    old: str
    new: str
    item: str | None = None


@dataclass(frozen=True)
class OrderChange:
    """An order added, removed or changed; `line` is where it starts in the file that has it."""

    order: str
    line: int | None
    fields: tuple[FieldChange, ...] = ()
    items_added: tuple[str, ...] = ()
    items_removed: tuple[str, ...] = ()


@dataclass
class CsvDiff:
    added: list[OrderChange] = field(default_factory=list)
    removed: list[OrderChange] = field(default_factory=list)
    changed: list[OrderChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass
class SubmissionDiff:
    """One submission folder that the change touched."""

    id: str
    folder: str
    status: Literal["added", "removed", "modified"]
    csv_path: str | None = None
    orders: CsvDiff = field(default_factory=CsvDiff)
    manifest: list[FieldChange] = field(default_factory=list)
    receipt_changed: bool = False
    note: str | None = None  # why orders could not be compared


@dataclass(frozen=True)
class DestinationChange:
    """A destination in retrobatch.yaml added, removed or redirected: reviewed above all else."""

    event_type: str
    kind: Literal["added", "removed", "changed"]
    old: Destination | None
    new: Destination | None


@dataclass
class Diff:
    base: str  # the merge base the comparison starts at
    head: str | None  # a commit, or None for the working tree
    submissions: list[SubmissionDiff] = field(default_factory=list)
    destinations: list[DestinationChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Side:
    """One end of the comparison: a commit's blobs, or the working tree."""

    def __init__(self, repo: git.Repo, root: Path, commit: str | None) -> None:
        self.repo, self.root, self.commit = repo, root, commit

    def read(self, rel: str) -> bytes | None:
        if self.commit is not None:
            return gitops.read_at(self.repo, self.commit, rel)
        path = self.root
        for part in PurePosixPath(rel).parts:
            path = path / part
            if path.is_symlink():  # a link could show a file from outside in a public summary
                return None
        return path.read_bytes() if path.is_file() else None


def diff(root: Path, base: str | None = None, head: str | None = None) -> Diff:
    """Submissions and destinations changed from the merge base of BASE and HEAD to HEAD."""
    with Workspace(root) as ws:
        return _diff(ws.repo, root, base, head)


def _diff(repo: git.Repo, root: Path, base: str | None, head: str | None) -> Diff:
    head_commit = gitops.commit_of(repo, head) if head is not None else None
    start = gitops.merge_base(
        repo, base or gitops.default_base(repo), head_commit or "HEAD", named="BASE "
    )
    paths = gitops.changed_paths(repo, start, head_commit)
    old, new = _Side(repo, root, start), _Side(repo, root, head_commit)
    result = Diff(start, head_commit)
    if SETTINGS_FILE in paths:
        result.destinations = destination_changes(old.read(SETTINGS_FILE), new.read(SETTINGS_FILE))
    for sub_id in sorted({_submission_of(p) for p in paths} - {None}):
        assert sub_id is not None
        folder = f"{SUBMISSIONS_DIR}/{sub_id}"
        touched = [p for p in paths if p.startswith(folder + "/")]
        found = _submission_diff(sub_id, folder, touched, old, new)
        if found is not None:
            result.submissions.append(found)
    return result


def destination_changes(old: bytes | None, new: bytes | None) -> list[DestinationChange]:
    """How `destinations` differ between two versions of retrobatch.yaml (unreadable = none)."""
    before, after = _destinations(old), _destinations(new)
    changes = []
    for key in sorted(before.keys() | after.keys(), key=lambda k: (len(k), k)):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        kind: Literal["added", "removed", "changed"] = (
            "added" if was is None else "removed" if now is None else "changed"
        )
        changes.append(DestinationChange(key, kind, was, now))
    return changes


def diff_csv(old: bytes | None, new: bytes | None) -> CsvDiff:
    """Orders added, removed and changed between two versions of a batch file.

    A correction usually touches a few orders of a large file, so each version is first read
    into one digest per order (its lines' bytes, in order); only the orders whose digests differ
    are read again into values and compared field by field. A changed header makes every order
    a suspect, since the same bytes may then mean other columns."""
    before, after = _digests(old), _digests(new)
    result = CsvDiff()
    for key, (line, _) in after.orders.items():
        if key not in before.orders:
            result.added.append(OrderChange(key, line))
    for key, (line, _) in before.orders.items():
        if key not in after.orders:
            result.removed.append(OrderChange(key, line))
    same_header = before.keys == after.keys
    suspects = {
        key
        for key, (_, digest) in after.orders.items()
        if key in before.orders and (not same_header or before.orders[key][1] != digest)
    }
    if not suspects:
        return result
    was, now = _table(old, suspects), _table(new, suspects)
    names = {**was.names, **now.names}
    for key in after.orders:
        if key in suspects:
            change = _compare_order(key, was.orders[key], now.orders[key], names)
            if change is not None:
                result.changed.append(change)
    return result


def _submission_of(path: str) -> str | None:
    parts = path.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == SUBMISSIONS_DIR else None


def _submission_diff(
    sub_id: str, folder: str, touched: list[str], old: _Side, new: _Side
) -> SubmissionDiff | None:
    """None for a folder that is a submission on neither side (no manifest)."""
    manifest_rel = f"{folder}/{MANIFEST_FILE}"
    was, now = _manifest(old.read(manifest_rel)), _manifest(new.read(manifest_rel))
    if was is None and now is None:
        return None
    status: Literal["added", "removed", "modified"] = (
        "added" if was is None else "removed" if now is None else "modified"
    )
    sub = SubmissionDiff(sub_id, folder, status)
    sub.receipt_changed = f"{folder}/{RECEIPT_FILE}" in touched
    if was is not None and now is not None:
        sub.manifest = [
            FieldChange(key, _text(was.get(key)), _text(now.get(key)))
            for key in MANIFEST_KEYS
            if was.get(key) != now.get(key)
        ]
    old_csv, new_csv = _csv_rel(folder, was), _csv_rel(folder, now)
    sub.csv_path = new_csv or old_csv
    if (was is not None and old_csv is None) or (now is not None and new_csv is None):
        sub.note = "the manifest does not name a readable CSV file"
        return sub
    old_bytes = old.read(old_csv) if old_csv else None
    new_bytes = new.read(new_csv) if new_csv else None
    problems = [
        f"the {side} CSV {why}"
        for side, data in (("old", old_bytes), ("new", new_bytes))
        if (why := not_text(data)) is not None
    ]
    if problems:  # read as UTF-8 its orders would be garbage: the review would be misled
        sub.note = f"{' and '.join(problems)}: orders not compared (retrobatch check says more)"
        return sub
    sub.orders = diff_csv(old_bytes, new_bytes)
    return sub


def not_text(data: bytes | None) -> str | None:
    """Why these bytes are no CSV text whose orders can be compared (None: they are, or there
    are none), as `check` would find it: UTF-16, a NUL byte, bytes that are not UTF-8."""
    if data is None:
        return None
    if looks_utf16(data):
        return "is UTF-16"
    if b"\0" in data:
        return "holds a NUL byte: binary, not text"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:  # a block at a time: a large file is never held twice
        for start in range(0, len(data), _BLOCK):
            decoder.decode(data[start : start + _BLOCK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "is not UTF-8"
    return None


_BLOCK = 1 << 20


def _manifest(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    if len(data) > MAX_DOCUMENT_BYTES:  # `check` refuses it; parsing it would take seconds
        return {}
    doc = load_yaml(data.decode("utf-8", "replace"))
    return doc.data if isinstance(doc.data, dict) else {}


def _csv_rel(folder: str, manifest: dict[str, Any] | None) -> str | None:
    """The CSV's repository path, None when the manifest names none or one outside the folder."""
    name = manifest.get("file") if manifest else None
    if not isinstance(name, str) or not name:
        return None
    pure = inside_folder(name)
    return None if pure is None else f"{folder}/{pure.as_posix()}"


def _destinations(data: bytes | None) -> dict[str, Destination]:
    if data is None or len(data) > MAX_DOCUMENT_BYTES:
        return {}
    settings, _ = parse_settings(data.decode("utf-8", "replace"))
    return dict(settings.destinations) if settings else {}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class _Line:
    line: int
    values: dict[str, str]  # normalised column name -> value
    item: str | None


@dataclass
class _Table:
    orders: dict[str, list[_Line]] = field(default_factory=dict)  # in file order
    names: dict[str, str] = field(default_factory=dict)  # normalised column name -> as written


@cache
def _canonical_names() -> dict[str, str]:
    """Lower-case name or alias -> canonical name, over every template's schema."""
    names: dict[str, str] = {}
    for template in TEMPLATES:
        names.update(load_template(template).lookup)
    return names


def _normalise(name: str) -> str:
    """Columns match case-insensitively and through aliases, so renaming `Oid` to `OrderId` or
    reordering columns is no change to any order."""
    key = name.strip().lower()
    return _canonical_names().get(key, key)


def _records(
    data: bytes, needles: tuple[bytes, ...] | None = None
) -> Iterator[tuple[int, bytes, list[str]]]:
    """Each record with a non-blank cell: the line it starts on (the header is line 1), its
    bytes without the line end, and its cells. A file without quotes is its lines, each split
    as `RawRecord.fields` splits one without quotes, read without the shared reader's quote
    bookkeeping (half the time of a diff). With `needles`, a record (other than the header)
    holding none of them is passed over unread."""
    if b'"' in data:
        for n, record in enumerate(RecordReader(io.BytesIO(data))):
            if n and needles is not None and not any(x in record.raw for x in needles):
                continue
            row = record.fields("utf-8-sig" if n == 0 else "utf-8")
            if "".join(row).strip():  # some cell holds more than whitespace
                yield record.first, record.raw.rstrip(b"\r\n"), row
        return
    encoding = "utf-8-sig"
    for n, line in enumerate(io.BytesIO(data), 1):
        if n > 1 and needles is not None and not any(x in line for x in needles):
            continue
        raw = line.rstrip(b"\r\n")
        row = raw.decode(encoding, "replace").split(",")
        encoding = "utf-8"
        if "".join(row).strip():  # some cell holds more than whitespace
            yield n, raw, row


@dataclass(frozen=True)
class _Header:
    """Which cells of a record name its order and its item, as `_table` reads them: the first
    non-empty value among the fields of that name."""

    keys: tuple[str, ...]  # normalised column name of each field
    order_at: tuple[int, ...]
    item_at: tuple[int, ...] | None  # None: no Sku column

    @classmethod
    def of(cls, row: list[str]) -> _Header:
        keys = tuple(_normalise(n) for n in row)
        order_col = next((c for c in ORDER_COLUMNS if c in keys), None)
        order_at = tuple(i for i, k in enumerate(keys) if order_col and k == order_col)
        item_at = tuple(i for i, k in enumerate(keys) if k == ITEM_COLUMN)
        return cls(keys, order_at, item_at or None)

    def order(self, row: list[str], line: int) -> str:
        found = _first(row, self.order_at)
        return found or f"(no order id, line {line})"


def _first(row: list[str], at: tuple[int, ...]) -> str:
    for i in at:
        if i < len(row) and (value := row[i].strip()):
            return value
    return ""


@dataclass
class _Digests:
    keys: tuple[str, ...] = ()  # the header's normalised names
    orders: dict[str, tuple[int, int]] = field(default_factory=dict)  # order -> line, digest


def _digests(data: bytes | None) -> _Digests:
    """Each order's first line and a digest of its lines' bytes in order (Python's hash of
    bytes is keyed anew in every process, so no file can be made to collide on purpose)."""
    found = _Digests()
    if not data:
        return found
    records = _records(data)
    first = next(records, None)
    if first is None:
        return found
    header = _Header.of(first[2])
    found.keys = header.keys
    orders = found.orders
    for line, raw, row in records:
        key = header.order(row, line)
        known = orders.get(key)
        orders[key] = (line, hash(raw)) if known is None else (known[0], hash((known[1], raw)))
    return found


def _table(data: bytes | None, only: set[str]) -> _Table:
    """The lines of the orders in `only`, by order; unparseable input reads as no orders."""
    table = _Table()
    if not data:
        return table
    records = _records(data, _needles(only))
    first = next(records, None)
    if first is None:
        return table
    header = _Header.of(first[2])
    for raw, key in zip(first[2], header.keys, strict=True):
        table.names.setdefault(key, raw.strip())
    for line, _, row in records:
        order = header.order(row, line)
        if order not in only:
            continue
        values: dict[str, str] = {}
        for key, value in zip(header.keys, row, strict=False):
            if key and not values.get(key):
                values[key] = value.strip()
        item = _first(row, header.item_at) if header.item_at is not None else None
        table.orders.setdefault(order, []).append(_Line(line, values, item))
    return table


def _needles(orders: set[str]) -> tuple[bytes, ...] | None:
    """Bytes every record of these orders holds (its OrderId as written, quotes doubled when
    quoted), so other records need not be read; None when there are too many to search for,
    or an id that is not the file's own bytes (one made of undecodable ones)."""
    if len(orders) > 32 or any("\ufffd" in o or o.startswith("(no order id") for o in orders):
        return None
    return tuple({n for o in orders for n in (o.encode(), o.replace('"', '""').encode())})


def _labelled(lines: list[_Line]) -> dict[str | None, _Line]:
    """An order's lines by Sku (numbered when repeated), or by position when there is no Sku."""
    if len(lines) == 1 and lines[0].item is None:
        return {None: lines[0]}
    labelled: dict[str | None, _Line] = {}
    for position, line in enumerate(lines, 1):
        label = line.item if line.item is not None else f"line {position}"
        candidate, n = label, 1
        while candidate in labelled:
            n += 1
            candidate = f"{label} #{n}"
        labelled[candidate] = line
    return labelled


def _compare_order(
    key: str, old: list[_Line], new: list[_Line], names: dict[str, str]
) -> OrderChange | None:
    before, after = _labelled(old), _labelled(new)
    fields: list[FieldChange] = []
    for label, line in after.items():
        was = before.get(label)
        if was is None:
            continue
        for column in dict.fromkeys((*line.values, *was.values)):
            a, b = was.values.get(column, ""), line.values.get(column, "")
            if a != b:
                fields.append(FieldChange(names.get(column, column), a, b, label))
    added = tuple(str(label) for label in after if label not in before)
    removed = tuple(str(label) for label in before if label not in after)
    if not (fields or added or removed):
        return None
    return OrderChange(key, new[0].line, tuple(fields), added, removed)


def describe(change: OrderChange) -> str:
    """One plain line per changed order, shared by the terminal and the pull request summary."""
    parts = []
    for f in change.fields:
        where = f" ({f.item})" if f.item else ""
        parts.append(f"{f.column}{where}: {f.old or '(empty)'} -> {f.new or '(empty)'}")
    parts += [f"line added: {item}" for item in change.items_added]
    parts += [f"line removed: {item}" for item in change.items_removed]
    return "; ".join(parts)
