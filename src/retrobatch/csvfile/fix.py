"""`retrobatch fix`: a spreadsheet's CSV export rewritten into the form impact.com takes.

Only changes that lose nothing and need no guess are made: a byte order mark, UTF-16 or a
stated encoding, CRLF or CR line ends, `;` or tab delimiters, header spellings of known
columns, dates in a spreadsheet's forms (to ISO 8601 with the offset of a named time zone,
never an assumed one), amounts with a currency symbol that matches the row's CurrencyCode or
with thousands separators, scattered lines of one order, blank rows. Whatever cannot be
repaired that way stays a finding with a hint, and the file is checked as usual afterwards.
The git diff of the pull request is the review.

A file can hold a million rows, so it is streamed, never held: a first pass reads it block by
block and learns what only the whole file settles (the delimiter, the date order and decimal
habit of each column, which orders are scattered, whether anything changes at all); a file
that needs nothing costs that one pass. Otherwise a second pass repairs each block and writes
it to a temporary file beside the target, which replaces it at the end. A scattered order's
later lines are found by the byte offsets the first pass noted for them (and for nothing
else), and written after the order's first lines by seeking to them.
"""

from __future__ import annotations

import codecs
import csv
import heapq
import io
import os
import re
import stat
import tempfile
from array import array
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from retrobatch.csvfile import hints
from retrobatch.csvfile.repairs import (
    CENTS,
    DATE_FORMS,
    PLAIN_COLUMN,
    DayMonth,
    Problem,
    Separators,
    fixed_amount,
    fixed_date,
)
from retrobatch.csvfile.source import (
    BLOCK_SIZE,
    Body,
    ExportBatch,
    ExportReader,
    LineSource,
    Malformed,
    Undecodable,
    Unreadable,
    ascii_line_ends,
    body_of,
    line_offsets,
    transcode,
)
from retrobatch.csvfile.stream import looks_utf16
from retrobatch.csvfile.templates import Column, Template
from retrobatch.csvfile.validate import ID_COLUMNS, MAX_FINDINGS, SCIENTIFIC
from retrobatch.findings import Finding, finding

__all__ = ["SCIENTIFIC", "Change", "FixResult", "fix_bytes", "fix_file", "zone"]

EXAMPLES = 3  # changes shown per kind
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"

# What each kind of change is called in the report, in the order it is listed.
KINDS = {
    "encoding": "re-encoded as UTF-8",
    "bom": "byte order mark removed",
    "line-ends": "line ends made LF",
    "delimiter": "delimiter made a comma",
    "header": "header names made canonical",
    "empty-columns": "empty trailing columns removed",
    "blank-line": "blank or comma-only lines dropped",
    "spaces": "spaces around values removed",
    "date": "dates made ISO 8601 with an offset",
    "amount": "currency symbols and thousands separators removed",
    "currency": "currency codes made upper-case",
    "order-regrouped": "lines of an order brought together",
    "quoting": "quoting made minimal",
}
_FILE_KINDS = ("encoding", "bom", "line-ends", "delimiter")  # known before any record is read
_STRIPPED_KINDS = {"integer", "decimal", "date", "currency", "digest", "enum"}
_CURRENCY = re.compile(r"[a-z]{3}|[A-Za-z]{3}")
_LOWER = re.compile(r"[a-z]")
_EDGE_SPACE = re.compile(r"(?m)^\s|\s$")
_ASCII_SPACES = (" ", "\t", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\r")
_BLANK = {d: re.compile(rf"(?m)^(?:[^\S\n]|{re.escape(d)})*$") for d in ",;\t"}


@dataclass(frozen=True)
class Change:
    line: int  # the line of the record in the file as it was
    column: str | None
    before: str
    after: str


@dataclass
class FixResult:
    """What `fix` changed or would change (`changed`; `data`: the new bytes, from `fix_bytes`
    only) and what it could not repair (findings with hints, at most MAX_FINDINGS listed: the
    rest are counted in `hidden` and one csv.truncated says so)."""

    rel: str
    data: bytes | None = None
    changed: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Change]] = field(default_factory=dict)
    unfixed: list[Finding] = field(default_factory=list)
    hidden: dict[tuple[str, str | None, str], int] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)  # said once, neither change nor problem
    # Examples and problems with their place in the report, (column, line) or (kind, line):
    # the passes meet them in another order than the report lists them.
    _shown: dict[str, list[tuple[tuple[int, ...], int, Change]]] = field(
        default_factory=dict, repr=False
    )
    _problems: list[tuple[tuple[int, ...], int, Finding]] = field(default_factory=list, repr=False)
    _seq: int = 0
    _dropped: int = 0

    def note(self, kind: str, change: Change, count: int = 1, place: tuple[int, ...] = ()) -> None:
        self.note_many(kind, [change], count, place)

    def note_many(
        self, kind: str, changes: Sequence[Change], count: int, place: tuple[int, ...] = ()
    ) -> None:
        """`count` changes of one kind, of which `changes` are the first (examples)."""
        if not count:
            return
        self.counts[kind] = self.counts.get(kind, 0) + count
        shown = self._shown.setdefault(kind, [])
        for change in changes[:EXAMPLES]:
            key = (*place, change.line)
            if len(shown) < EXAMPLES or key < shown[-1][0]:
                self._seq += 1
                insort(shown, (key, self._seq, change))
                del shown[EXAMPLES:]
        self.examples[kind] = [c for _, _, c in shown]

    def cannot(
        self,
        code: str,
        message: str,
        line: int | None,
        column: str | None,
        hint: str,
        place: tuple[int, ...] = (),
    ) -> None:
        self._seq += 1
        found = finding(code, self.rel, message, line, column, hint=hint)
        self._problems.append(((*place, line or 0), self._seq, found))
        if len(self._problems) >= 2 * MAX_FINDINGS:
            self._keep(MAX_FINDINGS)

    def keep_only(self, kinds: Sequence[str]) -> None:
        """Forget every change but those of `kinds`, and every problem: the file cannot be
        read past some point, and only that is said."""
        self.counts = {k: n for k, n in self.counts.items() if k in kinds}
        self.examples = {k: v for k, v in self.examples.items() if k in kinds}
        self._shown = {k: v for k, v in self._shown.items() if k in kinds}
        self._problems.clear()
        self.hidden.clear()
        self._dropped = 0

    def finish(self) -> FixResult:
        self._keep(MAX_FINDINGS)
        self.unfixed = [f for _, _, f in self._problems]
        if self._dropped:
            self.unfixed.append(
                finding(
                    "csv.truncated",
                    self.rel,
                    f"{self._dropped:,} more problems in this file are not listed "
                    f"(only the first {MAX_FINDINGS:,} are)",
                )
            )
        return self

    def _keep(self, n: int) -> None:
        self._problems.sort(key=lambda p: (p[0], p[1]))
        for _, _, f in self._problems[n:]:
            key = (f.code, f.column, f.severity)
            self.hidden[key] = self.hidden.get(key, 0) + 1
            self._dropped += 1
        del self._problems[n:]


# -- reading ---------------------------------------------------------------------------------


@dataclass
class _Input:
    """The bytes to read (the file, or its UTF-8 copy) and how to decode them."""

    fh: BinaryIO
    encoding: str
    skip: int = 0  # a byte order mark
    stated: str | None = None  # the --encoding the person gave, when it is read with it
    block_size: int = BLOCK_SIZE

    def source(self) -> LineSource:
        return LineSource(self.fh, self.encoding, skip=self.skip, block_size=self.block_size)


# -- the header ------------------------------------------------------------------------------


def canonical_name(template: Template, name: str) -> str | None:
    """The template column a header name means: by case, alias, or with spaces, `_`, `-` or `.`
    between its words (`Order Id`, `order_id`); None when it is none of them."""
    stripped = name.strip().lstrip("\ufeff")
    found = template.canonical(stripped)
    if found is None:
        found = template.canonical(re.sub(r"[\s_.\-]+", "", stripped))
    return found


def _delimiter(first: str, template: Template) -> str:
    """The delimiter under which the first line names the most known columns (comma on a tie)."""
    best, score = ",", -1
    for candidate in (",", ";", "\t"):
        try:
            fields = next(csv.reader([first], delimiter=candidate), [])
        except csv.Error:  # e.g. a long line of another delimiter, one field past csv's limit
            continue
        known = sum(1 for f in fields if canonical_name(template, f) is not None)
        if known > score and (candidate == "," or known > 1):
            best, score = candidate, known
    return best


def _header(fields: list[str], template: Template, line: int, result: FixResult) -> list[str]:
    wanted = [_spelling(template, f) for f in fields]
    names = []
    for f, name in zip(fields, wanted, strict=True):
        if name is None or wanted.count(name) > 1:  # a duplicate stays for check to report
            names.append(f)
            continue
        if name != f:
            result.note("header", Change(line, name, f, name))
        names.append(name)
    return names


def _spelling(template: Template, name: str) -> str | None:
    """The name `fix` writes: the canonical one, except that modification files keep an alias
    in its documented spelling (impact.com's reset file is `Oid,ActionTrackerId,Reason`)."""
    canonical = canonical_name(template, name)
    if canonical is None or template.kind == "conversion":
        return canonical
    key = re.sub(r"[\s_.\-]+", "", name.strip()).lower()
    aliases = {a.lower(): a for a in template.columns[canonical].aliases}
    return aliases.get(key, canonical)


# -- the repair ------------------------------------------------------------------------------


def _changes(
    body_lines: Sequence[int], name: str, values: list[str], new: list[str]
) -> list[Change]:
    return [
        Change(body_lines[k], name, v, n)
        for k, (v, n) in enumerate(zip(values, new, strict=True))
        if v != n
    ]


def _edges(values: list[str], joined: str) -> bool:
    """Whether some value has spaces around it (False is sure, True may be wrong)."""
    if joined.count("\n") != len(values) - 1:
        return True
    if joined.isascii():
        return any(c in joined for c in _ASCII_SPACES)
    return _EDGE_SPACE.search(joined) is not None


class _Repair:
    """One file's repair: what the first pass (`_scan`) learns, what the second (`_write`)
    keeps while it writes; never the records themselves."""

    def __init__(
        self,
        inp: _Input,
        template: Template,
        timezone: ZoneInfo | None,
        result: FixResult,
    ) -> None:
        self.inp = inp
        self.template = template
        self.timezone = timezone
        self.result = result
        self.delimiter = ","
        self.header_line = 0
        self.fields: list[str] = []  # the header as written
        self.names: list[str] = []  # the header as fix writes it
        self.width = 0
        self.columns: list[Column | None] = []
        self.currency_j: int | None = None
        self.order_j: int | None = None
        # What the first pass learns.
        self.day_month: dict[int, DayMonth] = {}
        self.separators: dict[int, Separators] = {}
        self.values_change = False  # some value will be repaired, or found unrepairable
        self.requote = False  # quoting or the final line end differ from csv.writer's
        self.seen: set[str] = set()
        # Records that continue an order met before ("fragments"), in file order: where each
        # starts and ends, and the order's previous fragment (-1: none); per order, its last.
        self.frag_starts = array("q")
        self.frag_ends = array("q")
        self.frag_prev = array("q")
        self.scattered: dict[str, int] = {}
        self.first_scattered: dict[str, int] = {}  # the first few: order -> first fragment
        self._previous: str | None = None  # the order of the last record scanned
        self._in_fragment = False  # whether that record continues an order met before
        # What the second pass keeps.
        self.out: BinaryIO | None = None
        self.buffer = io.StringIO()  # a block's rows, written to `out` at once
        self.writer: Any = None  # csv.writer, when writing
        self.regroup = False  # later records of an order are read again and written early
        self.wanted = array("q")  # the lines where fragments start or end after, sorted
        self.offsets = array("q")  # where each of those lines starts in the file
        self.fp = 0  # the next of them in the file
        self.pending: str | None = None  # an order whose first lines are being written
        self.group_lines: dict[str, list[int]] = {}  # lines of the orders shown as examples

    # The passes.

    def run(self, out: BinaryIO | None) -> bool:
        """Repair into `out` (None: only say what would change); True when something does."""
        result = self.result
        first = self._first_line()
        if first is not None:
            self.delimiter = _delimiter(first, self.template)
        if self.delimiter != ",":
            shown = {";": "';'", "\t": "tab"}[self.delimiter]
            result.note("delimiter", Change(1, None, shown, "','"))
        records = ExportReader(self.inp.source(), self.delimiter)
        try:
            header = self._find_header() if first is not None else None
            if header is None:
                return self._blank_file(records)
            self._settle_header(*header)
            self._scan(records)
        except Malformed as exc:
            for _ in records.blocks:  # line ends and encoding, as the whole file has them
                pass
            self._line_ends(records.source)
            result.keep_only(_FILE_KINDS)
            result.cannot(
                "csv.malformed",
                f"the record starting on line {exc.line} cannot be read as CSV: {exc.why}",
                exc.line,
                None,
                "fix this record by hand (a stray quote?); fix changes nothing until then",
            )
            return False
        self._line_ends(records.source)
        if not records.source.ends_with_newline:
            self.requote = True
        changed = bool(result.counts) or self.requote
        if self.values_change or self.scattered or (changed and out is not None):
            changed = self._write(out) or changed
        if changed and not result.counts:
            result.note("quoting", Change(1, None, "", ""))
        return changed

    def _first_line(self) -> str | None:
        """The first line with something but delimiters and spaces in it."""
        for block in self.inp.source().blocks():
            for line in block.lines:
                if line.strip(",;\t "):
                    return line
        return None

    def _blank_file(self, records: ExportReader) -> bool:
        """Nothing but blank lines (or nothing): each blank line goes, and the file is empty."""
        for batch in records:
            self._note_blanks(body_of(batch, 1 << 62, 0))
        self._line_ends(records.source)
        return bool(self.result.counts)

    def _find_header(self) -> tuple[int, list[str]] | None:
        for batch in ExportReader(self.inp.source(), self.delimiter):
            rows = batch.rows
            if rows is None:
                rows = [list(r) for r in zip(*batch.cols or [], strict=True)]
            for line, row in zip(batch.starts, rows, strict=True):
                if any(f.strip() for f in row):
                    return line, row
        return None

    def _settle_header(self, line: int, fields: list[str]) -> None:
        self.header_line = line
        self.fields = fields
        self.names = _header(fields, self.template, line, self.result)
        width = len(self.names)
        if width > 1 and not self.names[-1].strip():
            width = self._width(width)
        if width < len(self.names):
            cut = self.names[width:]
            self.result.note("empty-columns", Change(1, None, ",".join(cut), ""), place=(1,))
            self.names = self.names[:width]
        self.width = width
        self.columns = [
            self.template.columns.get(canonical_name(self.template, n) or "") for n in self.names
        ]
        known = [c.name if c else None for c in self.columns]
        self.currency_j = known.index("CurrencyCode") if "CurrencyCode" in known else None
        contiguous = self.template.contiguous and self.template.unique
        if contiguous and self.template.unique[0] in self.names:
            self.order_j = self.names.index(self.template.unique[0])
        for j, col in enumerate(self.columns):
            if col is not None and col.kind == "date":
                self.day_month[j] = DayMonth()
            if col is not None and col.kind == "decimal":
                self.separators[j] = Separators()

    def _width(self, width: int) -> int:
        """Trailing nameless columns with no value anywhere (a spreadsheet's stray cells) go."""
        filled = 0  # the widest prefix some record has a value at the end of
        for batch in ExportReader(self.inp.source(), self.delimiter):
            for line, row in zip(batch.starts, batch.rows or [], strict=True):
                if line <= self.header_line:
                    continue
                for k in range(min(len(row), width) - 1, filled - 1, -1):
                    if row[k].strip():
                        filled = k + 1
                        break
        while width > 1 and not self.names[width - 1].strip() and width > filled:
            width -= 1
        return width

    def _line_ends(self, source: LineSource) -> None:
        crlf, lone = source.crlf, source.lone_cr
        if crlf or lone:
            what = "CRLF" if not lone else ("CR" if not crlf else "CRLF and CR")
            self.result.note("line-ends", Change(1, None, what, "LF"), crlf + lone)

    def _note_blanks(self, body: Body) -> None:
        if body.blanks:
            shown = [Change(n, None, ",".join(r), "") for n, r in body.blanks[:EXAMPLES]]
            self.result.note_many("blank-line", shown, len(body.blanks))
        if body.trimmed:
            shown = [Change(n, None, ",".join(r), "") for n, r in body.trimmed[:EXAMPLES]]
            self.result.note_many("empty-columns", shown, len(body.trimmed), place=(0,))

    # The first pass: what the whole file settles, and whether anything changes.

    def _scan(self, records: ExportReader) -> None:
        if not self.names:
            return
        records.width = self.width
        for batch in records:
            if not self.result.counts and not self.requote and batch.ends is not None:
                self._compare(batch)
            body = body_of(batch, self.header_line, self.width)
            self._note_blanks(body)
            self._scan_values(body)
            if self.order_j is not None:
                self._scan_orders(body)
        self.seen.clear()

    def _compare(self, batch: ExportBatch) -> None:
        """Whether csv.writer writes these records as they are (quoting, mostly)."""
        rows = batch.rows or []
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        if out.getvalue() != batch.text:
            self.requote = True

    def _scan_values(self, body: Body) -> None:
        lines: Sequence[int] | None = None
        for j, col in enumerate(self.columns):
            values = body.cols[j]
            if col is None or not values:
                continue
            if col.kind not in _STRIPPED_KINDS and col.name not in ID_COLUMNS:
                continue
            joined = "\n".join(values)
            stripped = col.kind in _STRIPPED_KINDS
            if stripped and not self.values_change and _edges(values, joined):
                self.values_change = any(v != v.strip() for v in values)
            if col.kind == "currency" and not self.values_change and _LOWER.search(joined):
                self.values_change = any(_currency(v.strip()) for v in values)
            if col.name in ID_COLUMNS and "E+" in joined:
                lines = lines or body.lines()
                for k, v in enumerate(values):
                    value = v.strip() if stripped else v
                    if SCIENTIFIC.fullmatch(value):
                        self.result.cannot(
                            "csv.excel-number",
                            f"{self.names[j]} {value!r} is a number in scientific notation",
                            lines[k],
                            self.names[j],
                            f"Excel damaged this value; export {self.names[j]} as text",
                            place=(0, j),
                        )
            if col.kind == "date" and _date_forms(col, values, joined):
                self.values_change = True
                settled = self.day_month[j]
                for v in set(values):  # what it settles does not depend on order or repeats
                    settled.add(v)
            if col.kind == "decimal":
                seps = self.separators[j]
                if _plain_column(values, joined):
                    if not seps.american and CENTS.search(joined):
                        seps.american = True
                    continue
                for v in set(values):
                    if seps.add(v.strip()):
                        self.values_change = True

    def _scan_orders(self, body: Body) -> None:
        """Orders met again after other orders: their later records are noted (line and
        index), as few bytes as possible per order otherwise (the set of OrderIds)."""
        o = self.order_j
        assert o is not None
        keys = body.keys(o)
        if not keys:
            return
        runs = [k for k, _ in groupby(keys)]
        previous = self._previous
        fresh = runs[1:] if runs[0] == previous and previous is not None else runs
        if (
            "" not in runs
            and not (self._in_fragment and runs[0] == previous)
            and len(set(fresh)) == len(fresh)
            and self.seen.isdisjoint(fresh)
        ):
            self.seen.update(fresh)
            if fresh:
                self._in_fragment = False
            self._previous = runs[-1]
            return
        ends = body.ends if body.ends is not None else body.starts
        for i, key in enumerate(keys):
            if not key:
                previous = None
                self._in_fragment = False
                continue
            if key != previous:
                previous = key
                self._in_fragment = key in self.seen
                self.seen.add(key)
            if self._in_fragment:
                index = len(self.frag_starts)
                self.frag_prev.append(self.scattered.get(key, -1))
                self.scattered[key] = index
                if len(self.first_scattered) < EXAMPLES:
                    self.first_scattered.setdefault(key, body.starts[i])
                self.frag_starts.append(body.starts[i])
                self.frag_ends.append(ends[i])
        self._previous = previous

    # The second pass: each block repaired and written.

    def _write(self, out: BinaryIO | None) -> bool:
        self.out = out
        self.writer = csv.writer(self.buffer, lineterminator="\n") if out is not None else None
        self.regroup = out is not None and bool(self.scattered)
        if self.regroup:
            for line in heapq.merge(self.frag_starts, (e + 1 for e in self.frag_ends)):
                if not self.wanted or self.wanted[-1] != line:
                    self.wanted.append(line)
            self.offsets = line_offsets(self.inp.fh, self.wanted, self.inp.skip)
        shown_keys = list(self.first_scattered)
        # the first lines of the orders shown as examples (`lines 2, 5 together`)
        self.group_lines = {k: [] for k in shown_keys}
        regrouped = len(self.scattered)
        first_fragment = self.first_scattered
        changed_before = bool(self.result.counts)
        if self.names:
            if self.writer is not None:
                self.writer.writerow(self.names)
            records = ExportReader(self.inp.source(), self.delimiter, self.width)
            for batch in records:
                self._emit(body_of(batch, self.header_line, self.width))
            self._emit_rows(self._fragments(self.pending) if self.pending is not None else [])
        if regrouped:
            o = self.order_j
            assert o is not None
            shown = []
            for key, line in first_fragment.items():
                lines = ", ".join(str(n) for n in self.group_lines[key][:4])
                shown.append(Change(line, self.names[o], key, f"lines {lines} together"))
            self.result.note_many("order-regrouped", shown, regrouped)
        return bool(self.result.counts) or changed_before

    def _emit(self, body: Body) -> None:
        if self.regroup:
            body = self._without_fragments(body)
        rows = self._repaired(body)
        o = self.order_j
        if o is None or not (self.group_lines or self.scattered or self.pending):
            self._emit_rows(rows)
            return
        keys = body.keys(o)
        if self.group_lines and not self.group_lines.keys().isdisjoint(keys):
            for line, key in zip(body.starts, keys, strict=True):
                if key in self.group_lines:
                    self.group_lines[key].append(line)
        if not self.regroup or (self.pending is None and self.scattered.keys().isdisjoint(keys)):
            self._emit_rows(rows)
            return
        out: list[Sequence[str]] = []
        for key, row in zip(keys, rows, strict=True):
            if self.pending is not None and key != self.pending:
                out += self._fragments(self.pending)
                self.pending = None
            out.append(row)
            if key and self.pending is None and key in self.scattered:
                self.pending = key
        self._emit_rows(out)

    def _without_fragments(self, body: Body) -> Body:
        """The records that stay where they are: an order's later ones go with its first."""
        frags = self.frag_starts
        if not body.starts or not (self.fp < len(frags) and frags[self.fp] <= body.starts[-1]):
            return body
        rows = (
            body.rows if body.rows is not None else [list(r) for r in zip(*body.cols, strict=True)]
        )
        ends = body.ends if body.ends is not None else body.starts
        starts_kept: list[int] = []
        ends_kept: list[int] = []
        kept: list[list[str]] = []
        for i, line in enumerate(body.starts):
            if self.fp < len(frags) and frags[self.fp] == line:
                self.fp += 1
                continue
            starts_kept.append(line)
            ends_kept.append(ends[i])
            kept.append(rows[i])
        return body_of(
            ExportBatch(starts_kept, ends_kept, kept, None, ""), self.header_line, self.width
        )

    def _emit_rows(self, rows: Iterator[Sequence[str]] | list[Sequence[str]]) -> None:
        if self.writer is not None and self.out is not None:
            self.writer.writerows(rows)
            self.out.write(self.buffer.getvalue().encode("utf-8"))
            self.buffer.seek(0)
            self.buffer.truncate()

    def _fragments(self, key: str) -> list[Sequence[str]]:
        """An order's later records, read again where the first pass found them."""
        fh = self.inp.fh
        here = fh.tell()
        starts, ends, rows = [], [], []
        chain = []
        index = self.scattered.pop(key)
        while index >= 0:
            chain.append(index)
            index = self.frag_prev[index]
        for index in reversed(chain):
            start, end = self.frag_starts[index], self.frag_ends[index]
            at = self._offset(start)
            fh.seek(at)
            raw = fh.read(self._offset(end + 1) - at)
            text = raw.decode(self.inp.encoding).replace("\r\n", "\n").replace("\r", "\n")
            lines = [line + "\n" for line in text.split("\n")[: end - start + 1]]
            starts.append(start)
            ends.append(end)
            rows.append(next(csv.reader(lines, delimiter=self.delimiter, strict=True)))
            if key in self.group_lines:
                self.group_lines[key].append(start)
        fh.seek(here)
        batch = ExportBatch(starts, ends, rows, None, "")
        return list(self._repaired(body_of(batch, self.header_line, self.width)))

    def _offset(self, line: int) -> int:
        return self.offsets[bisect_left(self.wanted, line)]

    def _repaired(self, body: Body) -> Iterator[Sequence[str]] | list[Sequence[str]]:
        """The records with their values repaired, in order."""
        cols = body.cols
        changed = self._repair_values(body)
        if body.rows is None:
            return zip(*cols, strict=True)
        if changed and body.eligible is not None:
            for j in changed:
                col = cols[j]
                for k, i in enumerate(body.eligible):
                    body.rows[i][j] = col[k]
        return body.rows

    def _repair_values(self, body: Body) -> set[int]:
        result = self.result
        cols = body.cols
        if not cols or not cols[0]:
            return set()
        lines = body.lines()
        changed: set[int] = set()
        for j, col in enumerate(self.columns):
            if col is None or col.kind not in _STRIPPED_KINDS:
                continue
            values = cols[j]
            name = self.names[j]
            joined = "\n".join(values)
            if _edges(values, joined):
                new = [v.strip() for v in values]
                found = _changes(lines, name, values, new)
                if found:
                    result.note_many("spaces", found, len(found), place=(j,))
                    cols[j] = values = new
                    changed.add(j)
                    joined = "\n".join(values)
            if col.kind == "currency" and _LOWER.search(joined):
                new = [v.upper() if _currency(v) else v for v in values]
                found = _changes(lines, name, values, new)
                if found:
                    result.note_many("currency", found, len(found), place=(j,))
                    cols[j] = new
                    changed.add(j)
        for j, settled in self.day_month.items():
            col = self.columns[j]
            assert col is not None
            if _date_forms(col, cols[j], "\n".join(cols[j])):
                repair = _date_repair(self.names[j], settled.order, self.timezone)
                self._repair_cells(cols[j], j, lines, "date", 1, repair, changed)
        codes = cols[self.currency_j] if self.currency_j is not None else None
        for j, seps in self.separators.items():
            if not _plain_column(cols[j], "\n".join(cols[j])):
                repair = _amount_repair(self.names[j], codes, seps)
                self._repair_cells(cols[j], j, lines, "amount", 2, repair, changed)
        return changed

    def _repair_cells(
        self,
        values: list[str],
        j: int,
        lines: Sequence[int],
        kind: str,
        phase: int,
        repair: Repair,
        changed: set[int],
    ) -> None:
        """Each cell of column `j` repaired in place, or its problem a finding."""
        name = self.names[j]
        found = []
        for k, value in enumerate(values):
            new_value, problem = repair(k, value)
            if problem is not None:
                code, message, hint = problem
                self.result.cannot(code, message, lines[k], name, hint, (phase, j))
            elif new_value is not None:
                found.append(Change(lines[k], name, value, new_value))
                values[k] = new_value
        if found:
            self.result.note_many(kind, found, len(found), place=(j,))
            changed.add(j)


Repair = Callable[[int, str], tuple[str | None, Problem | None]]  # (row, cell) -> new, problem


def _date_repair(name: str, order: str | None, timezone: ZoneInfo | None) -> Repair:
    seen: dict[str, tuple[str | None, Problem | None]] = {}  # an order's lines share a date

    def repair(_k: int, value: str) -> tuple[str | None, Problem | None]:
        if value not in seen:
            if len(seen) > 4096:
                seen.clear()
            seen[value] = fixed_date(name, value, order, timezone)
        return seen[value]

    return repair


def _amount_repair(name: str, codes: list[str] | None, seps: Separators) -> Repair:
    def repair(k: int, value: str) -> tuple[str | None, Problem | None]:
        code = codes[k].strip().upper() if codes is not None else ""
        return fixed_amount(name, value, code, seps)

    return repair


def _currency(value: str) -> bool:
    return _CURRENCY.fullmatch(value) is not None and value != value.upper()


def _date_forms(col: Column, values: list[str], joined: str) -> bool:
    """Whether some value of a date column is in a form a repair touches."""
    pattern = col.joined_pattern
    if pattern is not None and joined.count("\n") == len(values) - 1 and pattern.fullmatch(joined):
        return False
    return DATE_FORMS.search(joined) is not None or joined.count("\n") != len(values) - 1


def _plain_column(values: list[str], joined: str) -> bool:
    """Whether every amount of a column is plain digits (or empty): nothing to repair."""
    return joined.count("\n") == len(values) - 1 and PLAIN_COLUMN.fullmatch(joined) is not None


# -- the entry points ------------------------------------------------------------------------


def _open_input(
    src: BinaryIO, encoding: str | None, result: FixResult, scratch: Callable[[], BinaryIO]
) -> _Input | None:
    """How to read the file: as it is (UTF-8 after a byte order mark, or a stated encoding
    whose line ends are ASCII's), or re-encoded as UTF-8 into `scratch` (UTF-16 and the like).
    None when it cannot be decoded (the finding says where)."""
    head = src.read(64)
    src.seek(0)
    name = codecs.lookup(encoding).name if encoding is not None else None
    if name is not None and name not in ("utf-8", "utf-8-sig"):
        assert encoding is not None
        if ascii_line_ends(name):
            already = _utf8_or_ascii(src)
            if already is None:
                result.note("encoding", Change(1, None, encoding, "UTF-8"))
                return _Input(src, name, stated=encoding)
            if already == "utf-8":
                result.remarks.append(
                    f"the file is already UTF-8, so --encoding {encoding} is not applied "
                    "(reading it as that would garble its accents)"
                )
        else:
            return _transcoded(src, name, encoding, result, scratch)
    elif name is None and looks_utf16(head):
        little = head.startswith(b"\xff\xfe") or (
            not head.startswith(b"\xfe\xff") and head[1:2] == b"\0"
        )
        codec = "utf-16" if head.startswith(UTF16_BOMS) else "utf-16-le" if little else "utf-16-be"
        return _transcoded(src, codec, None, result, scratch)
    skip = 0
    if head.startswith(UTF8_BOM):
        skip = len(UTF8_BOM)
        result.note("bom", Change(1, None, "BOM", ""))
    return _Input(src, "utf-8", skip)


def _transcoded(
    src: BinaryIO,
    codec: str,
    stated: str | None,
    result: FixResult,
    scratch: Callable[[], BinaryIO],
) -> _Input | None:
    copy = scratch()
    try:
        transcode(src, codec, copy)
    except Undecodable as exc:
        if stated is None:
            result.cannot(
                "csv.encoding",
                "the file starts like UTF-16 but does not decode as UTF-16",
                1,
                None,
                "save it from the spreadsheet as CSV UTF-8",
            )
        else:
            _undecodable(result, exc, stated)
        return None
    result.note("encoding", Change(1, None, stated or "UTF-16", "UTF-8"))
    return _Input(copy, "utf-8", 0, stated)


def _utf8_or_ascii(src: BinaryIO) -> str | None:
    """ "ascii" or "utf-8" when the whole file decodes as such, else None."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    ascii_only = True
    try:
        while chunk := src.read(1 << 20):
            decoder.decode(chunk)
            ascii_only = ascii_only and chunk.isascii()
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    finally:
        src.seek(0)
    return "ascii" if ascii_only else "utf-8"


def _undecodable(result: FixResult, exc: Undecodable, stated: str | None) -> None:
    byte = exc.byte.hex().upper()
    if stated is None:
        result.cannot(
            "csv.encoding",
            f"line {exc.line} is not UTF-8 (byte 0x{byte})",
            exc.line,
            None,
            hints.for_encoding(exc.raw, result.rel),
        )
        return
    result.cannot(
        "csv.encoding",
        f"line {exc.line} is not {stated} (byte 0x{byte})",
        exc.line,
        None,
        f"{stated} does not define this byte: state the encoding the file was saved in "
        "(--encoding NAME), or save it from the spreadsheet as CSV UTF-8",
    )


def _fix(
    src: BinaryIO,
    rel: str,
    template: Template,
    timezone: ZoneInfo | None,
    encoding: str | None,
    out: BinaryIO | None,
    scratch: Callable[[], BinaryIO],
    block_size: int = BLOCK_SIZE,
) -> FixResult:
    result = FixResult(rel)
    inp = _open_input(src, encoding, result, scratch)
    if inp is None:
        return result.finish()
    inp.block_size = block_size
    try:
        result.changed = _Repair(inp, template, timezone, result).run(out)
    except Undecodable as exc:
        result.keep_only(("encoding", "bom"))
        _undecodable(result, exc, inp.stated)
    except Unreadable as exc:
        result.keep_only(("encoding", "bom"))
        result.cannot(exc.code, exc.why, exc.line, None, exc.fix)
    return result.finish()


def fix_bytes(
    raw: bytes,
    rel: str,
    template: Template,
    timezone: ZoneInfo | None = None,
    encoding: str | None = None,
    *,
    block_size: int = BLOCK_SIZE,
) -> FixResult:
    """The repaired file for `raw` (`data`, None when nothing changes), and what could not be
    repaired. `block_size`: how much is read at a time (which must change nothing)."""
    out = io.BytesIO()
    result = _fix(io.BytesIO(raw), rel, template, timezone, encoding, out, io.BytesIO, block_size)
    if result.changed:
        result.data = out.getvalue()
    return result


def zone(name: str) -> ZoneInfo:
    """`--timezone NAME` as a zone of the IANA database (DST rules included)."""
    from zoneinfo import ZoneInfoNotFoundError

    from retrobatch.errors import UsageError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--timezone {name!r}: not a time zone of the IANA database (e.g. America/New_York, "
            "Europe/Berlin, UTC)"
        ) from None


def encoding_named(name: str) -> str:
    """`--encoding NAME` checked: a text encoding Python's codecs know (cp1252, latin-1, ...)."""
    from retrobatch.errors import UsageError

    try:
        codecs.lookup(name)
        "a".encode(name)  # LookupError for a codec of bytes (base64, zlib)
    except (LookupError, UnicodeError):
        raise UsageError(
            f"--encoding {name!r}: not a text encoding Python knows (e.g. cp1252 for Excel's "
            "'CSV (Comma delimited)' on Windows, latin-1, utf-16)"
        ) from None
    return name


def fix_file(
    path: Path,
    rel: str,
    template: str,
    timezone: ZoneInfo | None,
    *,
    dry_run: bool = False,
    encoding: str | None = None,
) -> FixResult:
    """Repair one submission's CSV in place (or only say what would change). The repaired
    file is written beside it and replaces it only when whole and different."""
    from retrobatch.csvfile.templates import load_template
    from retrobatch.errors import UsageError

    folder = path.parent

    def scratch() -> BinaryIO:
        """A UTF-8 copy of a UTF-16 file: beside it, or in the system's temporary folder."""
        try:
            return tempfile.TemporaryFile(dir=folder)
        except OSError:
            return tempfile.TemporaryFile()

    try:
        src = path.open("rb")
    except OSError as exc:
        raise UsageError(f"{rel}: cannot read: {exc.strerror}") from None
    with src:
        if dry_run:
            return _fix(src, rel, load_template(template), timezone, encoding, None, scratch)
        try:
            out = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, then renamed)
                dir=folder, prefix=f".{path.name}.", suffix=".fixing", delete=False
            )
        except OSError as exc:
            raise UsageError(f"{rel}: cannot write beside it: {exc.strerror}") from None
        try:
            with out:
                result = _fix(src, rel, load_template(template), timezone, encoding, out, scratch)
            if result.changed:
                os.chmod(out.name, stat.S_IMODE(path.stat().st_mode))
                os.replace(out.name, path)
        except OSError as exc:
            raise UsageError(
                f"{rel}: cannot write the repaired file beside it ({exc.strerror}); "
                "the file is unchanged"
            ) from None
        finally:
            if os.path.exists(out.name):
                os.unlink(out.name)
    return result
