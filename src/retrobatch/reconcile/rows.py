"""impact.com's errors traced back to the rows of the committed CSV, for `retrobatch status ID`.

A Line from impact.com is trusted only when the attachment is provably the committed CSV (a
single part, same sha256) or a part rebuilt from it byte for byte; otherwise an error is placed
by its own OrderId (and Sku), and `note` says so. A batch can hold a million rows and impact.com
can report thousands of errors, so the file is read once into an index of where each record
lies, each error costs a lookup, and a record's cells are read only for the records hit.
"""

from __future__ import annotations

import hashlib
import io
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from retrobatch.csvfile.records import RawRecord, RecordReader
from retrobatch.csvfile.templates import column_index
from retrobatch.reconcile import impact_errors
from retrobatch.reconcile.matching import PART_NAME
from retrobatch.repository.manifest import load_manifest
from retrobatch.repository.receipts import EmailPart, Receipt
from retrobatch.repository.submissions import SUBMISSIONS_DIR


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


class _Csv:
    """The committed CSV's records as the runner splits it (the shared reader; blank lines,
    which split parts drop, left out; the first record is the header, whatever it holds):
    where each lies, with its cells read on demand."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.firsts, self.lasts = array("q"), array("q")  # physical lines (header = 1)
        self.offsets, self.lengths = array("q"), array("q")
        for record in RecordReader(io.BytesIO(data)):
            if record.blank and self.firsts:
                continue
            self.firsts.append(record.first)
            self.lasts.append(record.last)
            self.offsets.append(record.offset)
            self.lengths.append(len(record.raw))
        # Where the orders asked for start (see index_orders): OrderId, and (OrderId, Sku).
        self._orders: dict[str, int] = {}
        self._items: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self.firsts)

    def raw(self, i: int) -> bytes:
        return self.data[self.offsets[i] : self.offsets[i] + self.lengths[i]]

    def cells(self, i: int) -> list[str]:
        record = RawRecord(self.offsets[i], self.raw(i), self.firsts[i], self.lasts[i])
        return record.fields("utf-8-sig" if i == 0 else "utf-8")

    def cell(self, i: int, column: int | None) -> str:
        return _at(self.cells(i), column) if column is not None else ""

    def index_orders(self, wanted: set[str], columns: tuple[int | None, int | None]) -> None:
        """Where the orders in `wanted` start (and each of their Skus), in one pass; only
        these are kept, so a million-row file costs no million-entry table."""
        order_col, sku_col = columns
        orders: dict[str, int] = {}
        items: dict[tuple[str, str], int] = {}
        if order_col is not None and wanted:
            for i in range(1, len(self)):
                cells = self.cells(i)
                order = _at(cells, order_col)
                if order in wanted:
                    orders.setdefault(order, i)
                    items.setdefault((order, _at(cells, sku_col)), i)
        self._orders, self._items = orders, items

    def first_of(self, columns: tuple[int | None, int | None], order_id: str, sku: str) -> int:
        """The first record of that order (of that Sku too, when both sides name one), among
        the orders indexed; -1 for none."""
        if not order_id or columns[0] is None:
            return -1
        if sku and (order_id, sku) in self._items:
            return self._items[(order_id, sku)]
        return self._orders.get(order_id, -1)


def _at(cells: list[str], column: int | None) -> str:
    return cells[column] if column is not None and column < len(cells) else ""


@dataclass(frozen=True)
class _Placement:
    """An attachment's records: their indices in the CSV and the line each starts on in it."""

    indices: Sequence[int]
    starts: Sequence[int]
    spans: Sequence[int]  # physical lines each record takes, less one

    def record_at(self, line: int | None) -> int:
        """The data record covering the attachment's physical `line` (not the header); -1."""
        if line is None:
            return -1
        k = bisect_right(self.starts, line) - 1
        if k < 1 or line > self.starts[k] + self.spans[k]:
            return -1
        return self.indices[k]


def _placement(rows: _Csv, receipt: Receipt, part: EmailPart) -> tuple[_Placement | None, str]:
    """Where the attachment's records are, or the reason it cannot be trusted line for line.

    A part is rebuilt as the runner builds it (header + the original lines of its orders, in
    file order, parts taking consecutive rows, blank lines dropped) and trusted only when its
    sha256 matches; a single attachment only when it is the committed file byte for byte.
    """
    named = PART_NAME.match(part.attachment)
    if named is None:
        if hashlib.sha256(rows.data).hexdigest() != part.sha256:
            return None, "the committed CSV differs from the attachment as sent (sha256)"
        spans = [last - first for first, last in zip(rows.firsts, rows.lasts, strict=True)]
        return _Placement(range(len(rows)), rows.firsts, spans), ""
    total = int(named["m"])
    parts: dict[int, EmailPart] = {}
    for other in receipt.emails:
        name = PART_NAME.match(other.attachment)
        if name and int(name["m"]) == total:
            parts[int(name["n"])] = other
    if sorted(parts) != list(range(1, total + 1)):
        return None, f"the receipt lists {len(parts)} of the {total} parts"
    offset = 1 + sum(parts[n].rows for n in range(1, int(named["n"])))
    indices = [0, *range(offset, min(offset + part.rows, len(rows)))]
    digest = hashlib.sha256()
    for i in indices:
        digest.update(rows.raw(i))
    if len(indices) != part.rows + 1 or digest.hexdigest() != part.sha256:
        return None, "the part could not be rebuilt from the committed CSV (sha256 differs)"
    starts, spans, line = [], [], 1
    for i in indices:
        starts.append(line)
        spans.append(rows.lasts[i] - rows.firsts[i])
        line += spans[-1] + 1
    return _Placement(indices, starts, spans), ""


def explain_errors(root: Path, receipt: Receipt, folder: Path | None = None) -> list[MappedError]:
    """impact.com's errors for every part, each placed on its CSV record and OrderId."""
    folder = folder or root / SUBMISSIONS_DIR / receipt.submission
    template, csv_rel, source, unreadable = _committed_csv(root, folder)
    rows = _Csv(source) if source is not None else None
    columns: tuple[int | None, int | None] = (None, None)
    if rows is not None and len(rows):
        header = rows.cells(0)
        columns = (column_index(template, header, "OrderId"), column_index(template, header, "Sku"))
    places: list[tuple[str, list[dict[str, Any]], _Place]] = []
    for entry in receipt.processing:
        if not entry.errors:
            continue
        part = receipt.part(entry.attachment)
        placement: _Placement | None = None
        why = unreadable
        if part is None:
            why = f"the receipt has no part {entry.attachment}"
        elif rows is not None and len(rows):
            placement, why = _placement(rows, receipt, part)
        elif rows is not None:
            why = f"{csv_rel} has no header"
        places.append(
            (entry.attachment, entry.errors, _Place(csv_rel, rows, columns, placement, why or None))
        )
    if rows is not None:  # the orders of errors no Line places, found in one pass
        rows.index_orders(
            {
                str(error.get("order_id") or "")
                for _, errors, place in places
                for error in errors
                if not place.placement or place.placement.record_at(_line(error)) < 0
            },
            columns,
        )
    return [
        _map_one(error, attachment, place)
        for attachment, errors, place in places
        for error in errors
    ]


def _line(error: dict[str, Any]) -> int | None:
    line = error.get("line")
    return line if isinstance(line, int) else None


@dataclass(frozen=True)
class _Place:
    """What placing one part's errors needs."""

    csv_rel: str | None
    rows: _Csv | None
    columns: tuple[int | None, int | None]
    placement: _Placement | None
    why: str | None  # why the part's Lines are not used


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


def _map_one(error: dict[str, Any], attachment: str, place: _Place) -> MappedError:
    line = _line(error)
    reported = str(error.get("order_id") or "")
    sku = str(error.get("sku") or "")
    reason = str(error.get("reason") or "")
    known = impact_errors.lookup(reason)
    rows, why = place.rows, place.why
    index = place.placement.record_at(line) if place.placement else -1
    placed_by: Literal["line", "order_id"] | None = "line" if index >= 0 else None
    order_id, note = reported, None
    if rows is not None and index >= 0:
        order_id = rows.cell(index, place.columns[0]) or reported
        if reported and reported != order_id:
            note = f"impact.com reports OrderId {reported!r} for this line"
    else:
        if place.placement:
            why = f"line {line} is not a data line of {attachment}"
        index = rows.first_of(place.columns, reported, sku) if rows is not None else -1
        placed_by = "order_id" if index >= 0 else None
        found = "placed by impact.com's OrderId" if index >= 0 else "not placed on a row"
        note = f"{why}: {found}" if why else found
    return MappedError(
        attachment=attachment,
        line=line,
        csv_path=place.csv_rel,
        csv_line=rows.firsts[index] if rows is not None and index >= 0 else None,
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
