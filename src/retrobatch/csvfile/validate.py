"""Validation of one CSV batch against its template, streaming and a column at a time.

The rules are impact.com's formats as the template schemas state them (docs/formats.md), plus
retrobatch's few policies; each code, whose rule it is and why, is in findings.CATALOGUE
(docs/findings.md). A file is read in
batches of records (csvstream); each batch is turned into columns and each column is checked
whole (its distinct values, or one regex over the column joined by line breaks), so a
million-row file costs about two bare `csv.reader` passes (benchmarks/check_speed.py).
Single cells are looked at only where a column test fails. Everything that must see the whole
file (orders seen twice, the earliest and latest EventDate, totals) is kept as it goes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate, compress, islice, repeat
from operator import add, ge, gt, itemgetter, lt, mul, ne, sub
from pathlib import Path

from retrobatch.csvfile import hints
from retrobatch.csvfile.stream import CsvStream, Records
from retrobatch.csvfile.templates import Column, HeaderMap, Template, load_template, resolve_header
from retrobatch.findings import Finding, finding

MAX_FINDINGS = 1000
HEADER_ALLOWANCE = 16 * 1024  # bytes of e-mail headers next to the base64 attachment
SHOWN_VALUE = 60  # characters of a value quoted in a message
_MINUTE = "%Y-%m-%dT%H:%M"  # the fixed-width start of every valid EventDate
# An offset (at most 23:59) moves an instant by less than a day: an EventDate whose first 16
# characters are a day or more from a limit is on the same side of it as its instant.
_NEAR = dt.timedelta(days=1)


@dataclass(frozen=True)
class CsvContext:
    event_type: int  # the manifest's event_type
    as_of: dt.datetime  # aware UTC instant ("future" = after it; ages from it)
    app: bool = False  # destination has app: true -> EventCode column required
    custom_reasons: tuple[str, ...] = ()
    max_email_bytes: int = 10 * 1024 * 1024
    # Event types of retrobatch.yaml: a chained file may carry rows of any of them.
    known_event_types: frozenset[int] = frozenset()


@dataclass
class CsvStats:
    """What `retrobatch status` and the PR summary show; for modifications `orders` counts
    actions."""

    rows: int = 0
    orders: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)  # per CurrencyCode ("" when none)
    first_event: str | None = None  # EventDate as written, earliest instant
    last_event: str | None = None
    partners: int = 0  # distinct MediaId values


@dataclass
class CsvResult:
    findings: list[Finding]
    stats: CsvStats
    orders: Mapping[str, int]  # conversion templates: OrderId -> line of its first record
    actions: dict[str, tuple[int, int]]  # modifications: action key -> (rows, first line)
    # Findings past MAX_FINDINGS, counted by (code, column, severity): totals stay exact.
    hidden: dict[tuple[str, str | None, str], int] = field(default_factory=dict)


class FirstLines(Mapping[str, int]):
    """OrderId -> line of its first record, for orders that each start once. Checking keeps
    only a hash of each OrderId (a million of them as strings take 60 MB); the mapping is read
    again from the file (tolerantly, as `collect_keys` reads) on first use, which `check` needs
    only when another submission's orders are compared with these."""

    def __init__(self, path: Path, template: str, count: int) -> None:
        self._path = path
        self._template = template
        self._count = count
        self._table: dict[str, int] | None = None

    def _built(self) -> dict[str, int]:
        if self._table is None:
            self._table = collect_keys(self._path, self._template)[0]
        return self._table

    def __getitem__(self, key: str) -> int:
        return self._built()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        return key in self._built()

    def __repr__(self) -> str:
        return repr(self._built())


Progress = Callable[[int], None]


def check_csv(
    path: Path, rel: str, template: str, ctx: CsvContext, progress: Progress | None = None
) -> CsvResult:
    """Every problem of one file as findings (at most MAX_FINDINGS, then csv.truncated).

    `progress`, when given, is told how many bytes have been read after each block, so a
    terminal can show how far a large file has come.
    """
    tpl = load_template(template)
    report = _Report(rel)
    stream = CsvStream(path, rel)
    checker: _Checker | None = None
    # Millions of short-lived lists and no reference cycles: the collector would only cost time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for records in stream:
            if checker is None and stream.header is not None:
                header = resolve_header(tpl, stream.header, app=ctx.app)
                report.add(header.findings(rel, stream.header_line))
                size = path.stat().st_size
                checker = _Checker(tpl, header, ctx, report, size, stream.header_size)
                checker.path = path
            report.add(stream.findings)
            stream.findings.clear()
            if checker is not None:
                checker.feed(records)
            if progress is not None:
                progress(stream.position)
    except OSError as exc:
        report.add([finding("csv.unreadable", rel, f"cannot read the file: {exc.strerror}")])
    finally:
        if collecting:
            gc.enable()
    report.add(stream.findings)
    fatal = any(f.code in _FATAL for f in report.kept)
    if any(f.code == "csv.nul-byte" for f in report.kept):
        # A binary file is not CSV: what its lines before the NUL byte would have said depends
        # on where reading blocks happened to end, so only the file's own problems are told.
        report.kept = [f for f in report.kept if f.code in _BINARY]
        report.dropped = 0
        return CsvResult(report.finish(), CsvStats(), {}, {})
    if checker is None:
        if not fatal:
            report.add([finding("csv.empty", rel, "the file is empty: no header line")])
        return CsvResult(report.finish(), CsvStats(), {}, {}, report.hidden)
    checker.finish()
    if checker.stats.rows == 0 and not fatal:
        message = "the file has a header but no data rows"
        report.add([finding("csv.empty", rel, message, stream.header_line)])
    return CsvResult(report.finish(), checker.stats, checker.orders, checker.actions, report.hidden)


_FATAL = {"csv.nul-byte", "csv.encoding", "csv.unclosed-quote", "csv.unreadable", "csv.line-ends"}
_BINARY = {"csv.nul-byte", "csv.bom"}


class _Report:
    """Findings in line order, at most MAX_FINDINGS kept; the rest only counted."""

    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.kept: list[Finding] = []
        self.dropped = 0
        self.hidden: dict[tuple[str, str | None, str], int] = {}

    def add(self, found: Iterable[Finding]) -> None:
        ordered = sorted(found, key=_line)
        room = max(MAX_FINDINGS - len(self.kept), 0)
        self.kept += ordered[:room]
        if len(ordered) > room:
            self.dropped += len(ordered) - room
            hidden = self.hidden
            for f in ordered[room:]:
                key = (f.code, f.column, f.severity)
                hidden[key] = hidden.get(key, 0) + 1

    def finish(self) -> list[Finding]:
        out = sorted(self.kept, key=_line)
        if self.dropped:
            out.append(
                finding(
                    "csv.truncated",
                    self.rel,
                    f"{self.dropped:,} more findings in this file are not listed "
                    f"(only the first {MAX_FINDINGS:,} are)",
                )
            )
        return out


def _line(f: Finding) -> int:
    return f.line or 0


def shorten(value: str) -> str:
    """A value for a message: quoted, and cut when long."""
    if len(value) <= SHOWN_VALUE:
        return repr(value)
    return f"{value[:SHOWN_VALUE]!r}… ({len(value):,} characters)"


@dataclass
class _Batch:
    """Well-formed records of one block, as columns."""

    lines: Sequence[int]
    cols: list[list[str]]
    sizes: list[int]
    text: str | None  # see Records.text
    maybe_empty: bool
    bad: list[dict[int, str]]
    found: dict[str, bool] = field(default_factory=dict)  # needle -> in text
    _longest: int | None = None
    _distinct: dict[int, set[str]] = field(default_factory=dict)
    floors: dict[int, int] = field(default_factory=dict)  # field -> length of its every cell

    def distinct(self, j: int) -> set[str]:
        """The distinct values of field j (computed once per batch)."""
        known = self._distinct.get(j)
        if known is None:
            values = self.cols[j]
            if values[0] == values[-1] and values.count(values[0]) == len(values):
                known = {values[0]}
            else:
                known = set(values)
            self._distinct[j] = known
        return known

    def valid_distinct(self, j: int) -> list[str]:
        """Distinct non-empty values of field j without a cell problem."""
        wrong = {self.cols[j][i] for i in self.bad[j]}
        wrong.add("")
        return list(self.distinct(j) - wrong)

    @property
    def longest(self) -> int:
        if self._longest is None:
            self._longest = max(self.sizes)
        return self._longest

    def widest(self, j: int) -> int:
        """A bound on the length of field j's cells, from the longest record less what the
        other fields surely take: a record's bytes hold every cell and the commas between
        them, and a field whose cells all match its pattern takes at least the pattern's
        shortest match (`floors`)."""
        floors = self.floors
        others = sum(floors.values()) - floors.get(j, 0)
        if not self.maybe_empty:  # every other field takes a character at least
            others += len(self.cols) - 1 - len(floors) + (j in floors)
        return self.longest - (len(self.cols) - 1) - others

    def has(self, needle: str) -> bool:
        """Whether the batch's text holds `needle` (asked once per needle, not per column)."""
        known = self.found.get(needle)
        if known is None:
            known = self.found[needle] = self.text is None or needle in self.text
        return known

    def valid(self, j: int) -> tuple[list[int] | None, list[str]]:
        """Non-empty values of field j without a cell problem, and their record indices
        (None: all of them)."""
        values, bad = self.cols[j], self.bad[j]
        if not bad and not (self.maybe_empty and "" in values):
            return None, values
        idx = [i for i, v in enumerate(values) if v and i not in bad]
        return idx, [values[i] for i in idx]


class _Checker:
    """The rules that look at records, fed one batch at a time; state that spans batches (the
    order in progress, values already seen) lives here."""

    def __init__(
        self,
        tpl: Template,
        header: HeaderMap,
        ctx: CsvContext,
        report: _Report,
        file_size: int,
        header_size: int,
    ) -> None:
        self.tpl = tpl
        self.header = header
        self.ctx = ctx
        self.report = report
        self.rel = report.rel
        self.width = len(header.names)
        self.columns: list[Column] = [c or tpl.extra for c in header.columns]
        self.distinct = [True] * self.width  # check distinct values (few) rather than the column
        # Regex columns first: their shortest matches narrow `_Batch.widest` for the others.
        self.cell_order = sorted(range(self.width), key=lambda j: self.columns[j].pattern is None)
        self.floors = [_shortest_match(c.pattern) for c in self.columns]
        self.known_good: list[set[str]] = [set() for _ in range(self.width)]
        self.misses = [0] * self.width  # batches in a row whose values were mostly new
        self.stats = CsvStats()
        self.orders: Mapping[str, int] = {}
        self.actions: dict[str, tuple[int, int]] = {}
        # Bytes one order's lines may take; None when the whole file fits in one message.
        room = (ctx.max_email_bytes - HEADER_ALLOWANCE) * 3 // 4 - header_size
        self.size_limit = room if _encoded(file_size) > ctx.max_email_bytes else None
        self.header_size = header_size
        self.too_large: dict[str, tuple[int, int]] = {}  # order -> (bytes, first line)
        self.partners: set[str] = set()
        self.cents: dict[str, int] = {}  # amounts per currency, in hundredths
        self.known_cents: dict[str, int] = {}  # price as written -> hundredths
        self.known_counts: dict[str, int] = {}  # quantity as written -> int
        self.first: tuple[dt.datetime, str] | None = None
        self.last: tuple[dt.datetime, str] | None = None
        self.first_below = self.last_above = ""  # EventDates that may beat first and last
        self.good_days: set[str] = set()
        self.prev_order = ""  # item-level: the order of the previous batch's last record,
        self.prev_keys: set[str] = set()  # the Skus it listed there,
        self.prev_size = 0  # and their bytes
        self.run_line = 0  # the line where that order starts
        # Where orders start (item-level: runs of lines), in file order: a hash of the OrderId
        # (the strings would take 60 MB a million) and the line; `orders` is settled at the end.
        self.order_hashes = array("q")
        self.order_lines = array("q")
        self.path: Path | None = None  # the file, read again only if some order starts twice
        self.dates = self._date_rules()
        self.future_from = _minute(ctx.as_of, -_NEAR)
        # Whether a record can hold values in two columns of which it may hold only one.
        self.conflicts_possible = any(
            group.exactly
            and sum(all(c in header.index for c in alt) for alt in group.alternatives) > 1
            for group in tpl.groups
        )

    def _at(self, code: str, batch: _Batch, i: int, j: int, message: str) -> Finding:
        """A finding about record i of the batch, in field j."""
        return finding(code, self.rel, message, batch.lines[i], self.header.names[j])

    def field(self, canonical: str) -> int | None:
        return self.header.index.get(canonical)

    # -- per batch -------------------------------------------------------------------------

    def feed(self, records: Records) -> None:
        self.stats.rows += len(records.lines) + len(records.odd)
        found = [
            finding(
                "csv.row-length",
                self.rel,
                f"{fields} fields where the header has {self.width}",
                line,
            )
            for line, fields in records.odd
        ]
        if records.lines:
            batch = _Batch(
                records.lines,
                records.cols,
                records.sizes,
                records.text,
                records.maybe_empty,
                [{} for _ in records.cols],
            )
            for j in self.cell_order:
                found += self._cells(batch, j)
            if batch.maybe_empty or self.conflicts_possible:
                found += self._missing(batch)
            found += self._event_dates(batch)
            found += self._excel_numbers(batch)
            found += self._event_type(batch)
            found += self._reasons(batch)
            found += self._expected_values(batch)
            found += self._reversals(batch)
            if self.tpl.kind == "conversion":
                found += self._orders(batch)
            else:
                self._actions(batch)
            self._totals(batch)
        self.report.add(found)

    def _cells(self, batch: _Batch, j: int) -> list[Finding]:
        """Cell problems of field j; when there are none, the length its cells surely have."""
        found = self._cell_problems(batch, j)
        values = batch._distinct.get(j)
        floor = self.floors[j] if not found and not batch.bad[j] else 0
        if values is not None and len(values) <= _FEW:
            floor = max(floor, min(map(len, values)))
        if floor and (not batch.maybe_empty or (values is not None and "" not in values)):
            batch.floors[j] = floor
        return found

    def _cell_problems(self, batch: _Batch, j: int) -> list[Finding]:
        """Cell problems of field j, looking at single cells only where a column test fails."""
        col = self.columns[j]
        values = batch.cols[j]
        text = batch.text
        forbidden = [
            joined
            for joined, needle in zip(col.joined_forbidden, col.needles, strict=True)
            if text is None or needle is None or batch.has(needle)
        ]
        # A record's bytes bound each of its cells' length.
        fits = col.max_length is None or batch.widest(j) <= col.max_length
        if not forbidden and fits and col.pattern is None:
            return []
        if self.distinct[j] and col.pattern is not None:
            # Regex columns: check each distinct value once, and each only the first time.
            good = self.known_good[j]
            if len(good) > _FEW and good.issuperset(values):
                # Values seen before (prices from a catalogue): no set of this batch's values.
                self.misses[j] = 0
                return []
            new = batch.distinct(j) - good if good else set(batch.distinct(j))
            new.discard("")
            self.misses[j] = self.misses[j] + 1 if len(new) * 2 > len(values) else 0
            self.distinct[j] = self.misses[j] < _MISSES
            if not new:
                return []
            fresh = list(new)
            wrong = {}
            if not col.passes(fresh, forbidden, one_per_line=text is not None, lengths=not fits):
                wrong = {v: p for v in fresh if (p := col.problem(v))}
            if len(good) < _KNOWN_GOOD:
                good.update(new - wrong.keys())
            if not wrong:
                return []
            suspects: Iterable[int] = (i for i, v in enumerate(values) if v in wrong)
        elif col.passes(values, forbidden, one_per_line=text is not None, lengths=not fits):
            return []
        else:
            suspects = range(len(values))
        found = []
        name = self.header.names[j]
        bad = batch.bad[j]
        for i in suspects:
            value = values[i]
            if value and (problem := col.problem(value)):
                code, reason = problem
                bad[i] = code
                message = f"{name} {shorten(value)} {reason}"
                hint = hints.for_value(col.kind, name, value)
                found.append(finding(code, self.rel, message, batch.lines[i], name, hint=hint))
        return found

    def _missing(self, batch: _Batch) -> list[Finding]:
        """Empty required values and records without any alternative of a column group."""
        # (record, code) -> what is missing, and the column (as written) to point at
        missing: dict[tuple[int, str], list[tuple[str, str]]] = {}
        found: list[Finding] = []
        for col in self.tpl.columns.values():
            j = self.field(col.name)
            needed = col.required or (self.ctx.app and col.keywords.get("x-required-for-app"))
            if j is None or not needed or "" not in batch.cols[j]:
                continue
            name = self.header.names[j]
            for i, value in enumerate(batch.cols[j]):
                if value:
                    continue
                if col.empty_code == "csv.required":
                    found.append(self._at("csv.required", batch, i, j, f"{name} is empty"))
                else:
                    missing.setdefault((i, col.empty_code), []).append((name, name))
        for group in self.tpl.groups:
            present = [
                tuple(self.header.index[c] for c in alt)
                for alt in group.alternatives
                if all(c in self.header.index for c in alt)
            ]
            if not present:
                continue  # the header lacks the group: one csv.missing-column says so
            always = any(len(alt) == 1 and "" not in batch.cols[alt[0]] for alt in present)
            used = [
                alt
                for alt in present
                if any(batch.cols[j].count("") < len(batch.lines) for j in alt)
            ]
            if always and (not group.exactly or len(used) < 2):
                continue
            filled = [_filled(batch.cols, alt) for alt in present]
            what = (group.describe(), self.header.names[present[0][0]])
            for i, row in enumerate(zip(*filled, strict=True)):
                count = sum(row)
                if not count:
                    missing.setdefault((i, group.missing_code), []).append(what)
                elif count > 1 and group.exactly and group.conflict_code:
                    names = [
                        "+".join(self.header.names[j] for j in alt)
                        for alt, f in zip(present, row, strict=True)
                        if f
                    ]
                    found.append(
                        finding(
                            group.conflict_code,
                            self.rel,
                            f"values in {' and '.join(names)}: give exactly one of them",
                            batch.lines[i],
                            names[1],
                        )
                    )
        for (i, code), what in missing.items():
            found.append(
                finding(
                    code,
                    self.rel,
                    f"no value in {', '.join(label for label, _ in what)}",
                    batch.lines[i],
                    what[0][1],
                )
            )
        return found

    def _excel_numbers(self, batch: _Batch) -> list[Finding]:
        """Ids a spreadsheet showed as numbers and exported as such (`1.23457E+11`): digits are
        lost, so nothing can repair them. Only a batch whose text holds `E+` (Excel's spelling)
        is looked at. A one-character search runs at memory speed and a two-character one a
        hundred times slower (a regex with that prefix: thirty), so `E` and `+` come first."""
        text = batch.text
        if text is not None and not ("E" in text and "+" in text and _E_PLUS.search(text)):
            return []
        found = []
        for canonical in ID_COLUMNS:
            j = self.field(canonical)
            if j is None or not SCIENTIFIC.search("\n".join(batch.cols[j])):
                continue
            name = self.header.names[j]
            for i, value in enumerate(batch.cols[j]):
                if SCIENTIFIC.fullmatch(value) and i not in batch.bad[j]:
                    message = f"{name} {shorten(value)} is a number in scientific notation"
                    hint = f"Excel damaged this value; export {name} as text"
                    found.append(
                        finding(
                            "csv.excel-number", self.rel, message, batch.lines[i], name, hint=hint
                        )
                    )
        return found

    # -- dates -----------------------------------------------------------------------------

    def _date_rules(self) -> tuple[int, str, int, str | None, int] | None:
        """(EventDate field, young limit, max age, column that extends it, extended age)."""
        for col in self.tpl.with_keyword("x-max-age-days"):
            j = self.field(col.name)
            if j is None:
                return None
            days = int(col.keywords["x-max-age-days"])
            young_from = _minute(self.ctx.as_of - dt.timedelta(days=days), _NEAR)
            extended = list(col.keywords.get("x-max-age-days-with", {}).items())
            if not extended:
                return j, young_from, days, None, days
            other, longer = extended[0]
            return j, young_from, days, other, int(longer)
        return None

    def _event_dates(self, batch: _Batch) -> list[Finding]:
        if self.dates is None:
            return []
        j, young_from, days, ext_name, ext_days = self.dates
        found = self._impossible_days(batch, j)
        valid = batch.valid_distinct(j)
        if not valid:
            return found
        low, high = min(valid), max(valid)
        # Only dates near a limit need parsing: an offset moves an instant by less than _NEAR.
        near: list[str] = []
        if high >= self.future_from:
            near += compress(valid, map(ge, valid, repeat(self.future_from)))
        if low < young_from:
            near += compress(valid, map(lt, valid, repeat(young_from)))
        as_of = self.ctx.as_of
        ages = {}  # value -> its age in days, for values past a limit
        for value in near:
            instant = _instant(value)
            if instant is not None and (instant > as_of or as_of - instant > dt.timedelta(days)):
                ages[value] = (as_of - instant) / dt.timedelta(days=1)
        if ages:
            found += self._dates_out_of_window(batch, j, ages, days, ext_name, ext_days)
        self._span(valid, low, high)
        return found

    def _dates_out_of_window(
        self,
        batch: _Batch,
        j: int,
        ages: dict[str, float],
        days: int,
        ext_name: str | None,
        ext_days: int,
    ) -> list[Finding]:
        name = self.header.names[j]
        ext_j = self.field(ext_name) if ext_name else None
        found = []
        for i, value in enumerate(batch.cols[j]):
            age = ages.get(value)
            if age is None or i in batch.bad[j]:
                continue
            if age < 0:
                code = "csv.date-in-future"
                as_of = f"{self.ctx.as_of:%Y-%m-%dT%H:%M:%SZ}"
                message = f"{name} {shorten(value)} is after {as_of}, the as-of instant"
            elif age > ext_days:
                code = "csv.date-window"
                message = (
                    f"{name} {shorten(value)} is older than {ext_days} days: impact.com ignores it"
                )
            elif ext_j is None or not batch.cols[ext_j][i]:
                code = "csv.date-window"
                message = f"{name} {shorten(value)} is older than {days} days"
                if ext_name:
                    message += f" and has no {self.header.name_of(ext_name)} (up to {ext_days})"
            else:
                continue
            found.append(finding(code, self.rel, message, batch.lines[i], name))
        return found

    def _impossible_days(self, batch: _Batch, j: int) -> list[Finding]:
        """Dates the pattern allows but the calendar does not, such as 2026-02-30."""
        values, bad = batch.cols[j], batch.bad[j]
        wrong = set()
        for day in set(map(_DAY, batch.distinct(j))) - self.good_days:
            try:
                dt.date.fromisoformat(day)
                self.good_days.add(day)
            except ValueError:
                wrong.add(day)
        wrong.discard("")
        if not wrong:
            return []
        found = []
        name = self.header.names[j]
        for i in (i for i, v in enumerate(values) if v[:10] in wrong and i not in bad):
            bad[i] = "csv.bad-date"
            message = f"{name} {shorten(values[i])} is not a date on the calendar"
            found.append(finding("csv.bad-date", self.rel, message, batch.lines[i], name))
        return found

    def _span(self, valid: list[str], low: str, high: str) -> None:
        """Earliest and latest EventDate by instant, parsing only those that may beat the ones
        found so far (an offset moves an instant by less than _NEAR)."""
        if self.first is None:
            self.first = (_instant_or_max(low), low)
            self.first_below = _minute(_naive(low), _NEAR)
        if self.last is None:
            self.last = (_instant_or_min(high), high)
            self.last_above = _minute(_naive(high), -_NEAR)
        if low < self.first_below:
            for value in compress(valid, map(lt, valid, repeat(self.first_below))):
                instant = _instant(value)
                if instant is not None and instant < self.first[0]:
                    self.first = (instant, value)
                    self.first_below = _minute(_utc(instant), _NEAR)
        if high >= self.last_above:
            for value in compress(valid, map(ge, valid, repeat(self.last_above))):
                instant = _instant(value)
                if instant is not None and instant > self.last[0]:
                    self.last = (instant, value)
                    self.last_above = _minute(_utc(instant), -_NEAR)

    # -- event types, reasons, reversals ---------------------------------------------------

    def _event_type(self, batch: _Batch) -> list[Finding]:
        found = []
        expected = str(self.ctx.event_type)
        mixed = self.tpl.mixed_event_types
        for col in self.tpl.with_keyword("x-event-type"):
            j = self.field(col.name)
            if j is None or batch.distinct(j) == {expected}:
                continue
            name = self.header.names[j]
            values, bad = batch.cols[j], batch.bad[j]
            for i, value in enumerate(values):
                if not value or value == expected or i in bad:
                    continue
                number = int(value)
                if number == self.ctx.event_type:
                    continue
                if not mixed:
                    message = (
                        f"{name} {shorten(value)} differs from the manifest's event_type {expected}"
                    )
                    found.append(self._at("csv.event-type-mismatch", batch, i, j, message))
                elif number not in self.ctx.known_event_types:
                    message = (
                        f"{name} {shorten(value)} is neither the manifest's event_type {expected} "
                        "nor a destination in retrobatch.yaml: a typo, or an event type to add"
                    )
                    found.append(self._at("csv.chained-event-type", batch, i, j, message))
        return found

    def _reasons(self, batch: _Batch) -> list[Finding]:
        found = []
        for col in self.tpl.with_keyword("x-default-codes"):
            j = self.field(col.name)
            if j is None:
                continue
            allowed = set(col.keywords["x-default-codes"]) | set(self.ctx.custom_reasons)
            values, bad = batch.cols[j], batch.bad[j]
            present = batch.distinct(j) - {""}
            wrong = present - allowed
            suggested = col.keywords.get("x-suggested")
            odd = present - wrong - {suggested, "RESET"} if suggested else set()
            if not wrong and not odd:
                continue
            name = self.header.names[j]
            custom = ", ".join(self.ctx.custom_reasons) or "none configured"
            for i, value in enumerate(values):
                if i in bad:
                    continue
                if value in wrong:
                    message = (
                        f"{name} {shorten(value)} is neither a default reason code nor a custom "
                        f"one of event type {self.ctx.event_type} ({custom}); codes are "
                        "case-sensitive"
                    )
                    found.append(self._at(col.pattern_code, batch, i, j, message))
                elif value in odd:
                    message = (
                        f"{name} {shorten(value)}: impact.com's item updates use {suggested}; "
                        "keep this code only if it is meant"
                    )
                    found.append(self._at(col.keywords["x-suggested-code"], batch, i, j, message))
        return found

    def _expected_values(self, batch: _Batch) -> list[Finding]:
        """Values impact.com accepts but that are usually a mistake (a CustomerStatus the
        account may not map)."""
        found = []
        for col in self.tpl.with_keyword("x-expected-values"):
            j = self.field(col.name)
            if j is None:
                continue
            expected = {v.lower() for v in col.keywords["x-expected-values"]}
            odd = {v for v in batch.distinct(j) if v and v.lower() not in expected}
            if not odd:
                continue
            name = self.header.names[j]
            listed = " or ".join(col.keywords["x-expected-values"])
            for i, value in enumerate(batch.cols[j]):
                if value in odd and i not in batch.bad[j]:
                    message = (
                        f"{name} {shorten(value)} is not {listed}: impact.com takes it only if "
                        "the account's Customer Status Mapping maps it"
                    )
                    found.append(self._at(col.keywords["x-unexpected-code"], batch, i, j, message))
        return found

    def _reversals(self, batch: _Batch) -> list[Finding]:
        found = []
        for col in self.tpl.with_keyword("x-warn-on-reversal"):
            j = self.field(col.name)
            k = self.field(col.keywords["x-warn-on-reversal"])
            if j is None or k is None:
                continue
            name = self.header.names[j]
            amounts, bad = batch.cols[k], batch.bad[k]
            for i, status in enumerate(batch.cols[j]):
                amount = amounts[i]
                if status and amount and i not in bad and not amount.replace(".", "").strip("0"):
                    message = (
                        f"{name} {shorten(status)} on a reversal "
                        f"({self.header.names[k]} {amount}): impact.com ignores it"
                    )
                    found.append(self._at("csv.reversal-status", batch, i, j, message))
        return found

    # -- orders and actions ----------------------------------------------------------------

    def _orders(self, batch: _Batch) -> list[Finding]:
        """Orders by the template's x-template keys: `unique` (the order, and for item-level
        its Sku) and `contiguous` (an order's lines come together)."""
        o = self.field(self.tpl.unique[0]) if self.tpl.unique else None
        if o is None:
            return []
        if self.tpl.contiguous:
            return self._order_runs(batch, o)
        oids, lines = batch.cols[o], batch.lines
        self._record_orders(batch, o, range(len(oids)))
        if self.size_limit is not None and batch.longest > self.size_limit:
            for i, size in enumerate(batch.sizes):
                if size > self.size_limit and oids[i]:
                    self._too_large(oids[i], size, lines[i])
        return []

    def _record_orders(
        self, batch: _Batch, o: int, starts: Sequence[int], ids: list[str] | None = None
    ) -> None:
        """Remember the records where orders start (`ids`: their OrderIds, when known); whether
        one starts twice is settled in `finish`, with one set built at once (probing a growing
        one batch by batch costs twice as much)."""
        if ids is None:
            ids = list(map(batch.cols[o].__getitem__, starts))
        numbers = batch.lines
        if isinstance(numbers, range) and numbers.step == 1:  # a block read without csv.reader
            lines: list[int] = list(map(add, starts, repeat(numbers.start)))
        else:
            lines = list(map(numbers.__getitem__, starts))
        bad = batch.bad[o]
        if bad or (batch.maybe_empty and "" in ids):
            keep = [k for k, start in enumerate(starts) if ids[k] and start not in bad]
            ids = [ids[k] for k in keep]
            lines = [lines[k] for k in keep]
        self.order_hashes.extend(map(hash, ids))
        self.order_lines.extend(lines)

    def _order_runs(self, batch: _Batch, o: int) -> list[Finding]:
        """Item-level: the lines of an order are consecutive, and name each Sku once."""
        oids = batch.cols[o]
        n = len(oids)
        starts = [0, *compress(range(1, n), map(ne, islice(oids, 1, None), oids))]
        ends = [*starts[1:], n]
        run_oids = list(map(oids.__getitem__, starts))
        continued = bool(self.prev_order) and run_oids[0] == self.prev_order
        if continued:
            self._record_orders(batch, o, starts[1:], run_oids[1:])
        else:
            self._record_orders(batch, o, starts, run_oids)
        found = []
        s = self.field(self.tpl.unique[1]) if len(self.tpl.unique) > 1 else None
        if s is not None:
            found = self._duplicate_skus(batch, o, s, starts, ends, continued)
        if self.size_limit is not None:
            self._run_sizes(batch, starts, ends, run_oids, continued)
        if not (continued and len(starts) == 1):
            self.run_line = batch.lines[starts[-1]]
        self.prev_order = run_oids[-1]
        return found

    def _run_sizes(
        self,
        batch: _Batch,
        starts: list[int],
        ends: list[int],
        run_oids: list[str],
        continued: bool,
    ) -> None:
        """Runs of one order too large for a message; only a run longer than the batch can be,
        so most batches need one sum."""
        assert self.size_limit is not None
        carried = self.prev_size if continued else 0
        last = sum(batch.sizes[starts[-1] :])
        self.prev_size = last + (carried if len(starts) == 1 else 0)
        if sum(batch.sizes) + carried <= self.size_limit:
            return
        offsets = [0, *accumulate(batch.sizes)]
        sizes = list(map(sub, map(offsets.__getitem__, ends), map(offsets.__getitem__, starts)))
        sizes[0] += carried
        for k in compress(range(len(sizes)), map(gt, sizes, repeat(self.size_limit))):
            oid = run_oids[k]
            if oid:
                line = self.run_line if continued and k == 0 else batch.lines[starts[k]]
                self._too_large(oid, sizes[k], line)

    def _duplicate_skus(
        self, batch: _Batch, o: int, s: int, starts: list[int], ends: list[int], continued: bool
    ) -> list[Finding]:
        oids, skus = batch.cols[o], batch.cols[s]
        suspects: set[int] = set()
        if continued and not self.prev_keys.isdisjoint(skus[: ends[0]]):
            suspects.add(0)
        # Skus all different (a catalogue of unique items) settle it with the cheaper set.
        if len(set(skus)) < len(skus) and len(set(zip(oids, skus, strict=True))) < len(oids):
            # Some (order, Sku) repeats: find the runs whose Skus are not all different.
            runs = list(map(slice, starts, ends))
            distinct = map(len, map(set, map(skus.__getitem__, runs)))
            suspects.update(compress(range(len(runs)), map(ne, distinct, map(sub, ends, starts))))
        found = []
        name = self.header.names[s]
        for k in sorted(suspects):
            if not oids[starts[k]] or starts[k] in batch.bad[o]:
                continue  # no order to speak of: csv.required or a bad OrderId says so
            seen = set(self.prev_keys) if continued and k == 0 else set()
            for i in range(starts[k], ends[k]):
                sku = skus[i]
                if sku and sku in seen:
                    message = f"order {shorten(oids[i])} lists {name} {shorten(sku)} twice"
                    found.append(
                        finding("csv.duplicate-row", self.rel, message, batch.lines[i], name)
                    )
                seen.add(sku)
        last = skus[starts[-1] :]
        if continued and len(starts) == 1:
            self.prev_keys.update(last)
        else:
            self.prev_keys = set(last)
        return found

    def _settle_orders(self) -> list[Finding]:
        """Count the orders and report those that start twice. Equal hashes are rare (a file
        with such orders, or a collision): only then are the OrderIds where they start read
        again from the file, to compare the strings themselves."""
        hashes, lines = self.order_hashes, self.order_lines
        self.order_hashes = array("q")
        distinct = set(hashes)
        if len(distinct) == len(hashes) or self.path is None:
            self.orders = FirstLines(self.path or Path(), self.tpl.name, len(distinct))
            return []
        del distinct
        ids = self._ids_at(lines)
        # Inserted last to first, so each order keeps its first line; then in file order.
        firsts = dict(zip(reversed(ids), reversed(lines), strict=True))
        self.orders = dict(sorted(firsts.items(), key=itemgetter(1)))
        o = self.field(self.tpl.unique[0])
        name = self.header.names[o] if o is not None else None
        found = []
        for oid, line in zip(ids, lines, strict=True):
            first = self.orders[oid]
            if first == line:
                continue
            if self.tpl.contiguous:
                code = "csv.order-not-contiguous"
                message = (
                    f"order {shorten(oid)} continues here after other orders "
                    f"(first seen on line {first})"
                )
            else:
                code = "csv.duplicate-row"
                message = f"order {shorten(oid)} appears again (first on line {first})"
            found.append(finding(code, self.rel, message, line, name))
        return found

    def _ids_at(self, lines: Sequence[int]) -> list[str]:
        """The OrderId of the record on each of these lines, read again from the file."""
        assert self.path is not None
        o = self.field(self.tpl.unique[0])
        assert o is not None
        wanted = set(lines)
        at: dict[int, str] = {}
        for records in CsvStream(self.path, self.rel):
            for line, oid in zip(records.lines, records.cols[o], strict=True):
                if line in wanted:
                    at[line] = oid
        return [at.get(line, "") for line in lines]

    def _too_large(self, oid: str, size: int, line: int) -> None:
        """Note an order too large for one message; reported in `finish` with its full size
        (a run of lines that goes on past this batch grows)."""
        known = self.too_large.get(oid)
        self.too_large[oid] = (max(size, known[0]) if known else size, line)

    def _too_large_findings(self) -> list[Finding]:
        if not self.too_large:
            return []
        o = self.field(self.tpl.unique[0])
        name = self.header.names[o] if o is not None else None
        found = []
        for oid, (size, line) in self.too_large.items():
            total = _encoded(self.header_size + size)
            message = (
                f"order {shorten(oid)} alone needs about {total:,} bytes as an e-mail, more "
                f"than max_email_bytes ({self.ctx.max_email_bytes:,})"
            )
            found.append(finding("csv.order-too-large", self.rel, message, line, name))
        return found

    def _actions(self, batch: _Batch) -> None:
        _count_actions(self.actions, self.header, batch.cols, batch.lines)

    # -- statistics ------------------------------------------------------------------------

    def _totals(self, batch: _Batch) -> None:
        m = self.field("MediaId")
        if m is not None:
            self.partners.update(batch.valid(m)[1])
        c = self.field("CurrencyCode")
        q = self.field("Quantity")
        for price_column, per_unit in _PRICES:
            p = self.field(price_column)
            if p is None:
                continue
            need = [p, q] if per_unit and q is not None else [p]
            rows = _usable(batch, need, c)
            columns = [batch.cols[j] for j in need]
            currencies = batch.cols[c] if c is not None else [""] * len(batch.lines)
            if rows is not None:
                columns = [[col[i] for i in rows] for col in columns]
                currencies = [currencies[i] for i in rows]
            if not currencies:
                continue
            if c is not None and rows is None:
                single = len(batch.distinct(c)) == 1
            else:
                single = currencies.count(currencies[0]) == len(currencies)
            if single:
                self._add(currencies[0], self._cents(*columns))
                continue
            for currency in set(currencies):
                mine = list(map(currency.__eq__, currencies))
                self._add(currency, self._cents(*(list(compress(col, mine)) for col in columns)))

    def _cents(self, prices: list[str], quantities: list[str] | None = None) -> int:
        """Sum of prices (times quantities), in hundredths."""
        units = self._in_cents(prices)
        if quantities is None:
            return sum(units)
        return sum(map(mul, units, self._whole(quantities)))

    def _in_cents(self, prices: list[str]) -> list[int]:
        """Each price in hundredths. A catalogue's prices are converted once each and then
        looked up; values that keep being new (every price distinct) are converted batch by
        batch with C-level string and int operations, which is nearly as fast, and the cache
        stops growing at _KNOWN_GOOD values instead of being cleared and refilled."""
        known = self.known_cents
        try:
            return list(map(known.__getitem__, prices))
        except KeyError:
            pass
        values = _to_cents(prices)
        if len(known) < _KNOWN_GOOD:
            known.update(zip(prices, values, strict=True))
        return values

    def _whole(self, quantities: list[str]) -> list[int]:
        known = self.known_counts
        try:
            return list(map(known.__getitem__, quantities))
        except KeyError:
            pass
        values = list(map(int, quantities))
        if len(known) < _KNOWN_GOOD:
            known.update(zip(quantities, values, strict=True))
        return values

    def _add(self, currency: str, cents: int) -> None:
        self.cents[currency] = self.cents.get(currency, 0) + cents

    def finish(self) -> None:
        self.report.add(self._settle_orders() + self._too_large_findings())
        stats = self.stats
        stats.orders = len(self.orders) if self.tpl.kind == "conversion" else len(self.actions)
        stats.amounts = {c: Decimal(cents).scaleb(-2) for c, cents in self.cents.items()}
        stats.partners = len(self.partners)
        stats.first_event = self.first[1] if self.first else None
        stats.last_event = self.last[1] if self.last else None


# Id columns whose values a spreadsheet may have turned into numbers in scientific notation.
ID_COLUMNS = ("OrderId", "ClickId", "CustomerId", "CampaignId", "MediaId", "ActionId", "Sku")
_E_PLUS = re.compile(r"E\+[0-9]")
SCIENTIFIC = re.compile(r"(?m)^[0-9](\.[0-9]+)?E\+[0-9]+$")

_FEW = 4  # distinct values of a field few enough to measure each (`_Batch.floors`)
_KNOWN_GOOD = 20_000  # distinct values remembered per column as checked
_MISSES = 8  # batches of mostly new values after which a column is checked whole instead

_PRICES = (("Amount", False), ("ItemSubtotal", False), ("ItemPrice", True))


def action_key(action_id: str, order_id: str, tracker: str) -> str | None:
    """How modifications of one action are counted together (repo.modification-limit)."""
    if action_id:
        return f"id:{action_id}"
    if order_id and tracker:
        return f"order:{order_id}:{tracker}"
    return None


def collect_keys(path: Path, template: str) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """Orders and actions of a delivered file, read tolerantly: history is not re-judged."""
    tpl = load_template(template)
    orders: dict[str, int] = {}
    actions: dict[str, tuple[int, int]] = {}
    stream = CsvStream(path, path.name)
    try:
        for records in stream:
            header = resolve_header(tpl, stream.header or [])
            if tpl.kind != "conversion":
                _count_actions(actions, header, records.cols, records.lines)
                continue
            oids = _column_of(header, records.cols, len(records.lines), tpl.unique[0])
            for oid, line in zip(oids, records.lines, strict=True):
                if oid:
                    orders.setdefault(oid, line)
    except OSError:
        pass
    return orders, actions


def _count_actions(
    actions: dict[str, tuple[int, int]],
    header: HeaderMap,
    cols: list[list[str]],
    lines: Sequence[int],
) -> None:
    columns = (_column_of(header, cols, len(lines), c) for c in _ACTION_COLUMNS)
    for key, line in zip(map(action_key, *columns), lines, strict=True):
        if key is not None:
            rows, first = actions.get(key, (0, line))
            actions[key] = (rows + 1, first)


_ACTION_COLUMNS = ("ActionId", "OrderId", "ActionTrackerId")


def _column_of(header: HeaderMap, cols: list[list[str]], rows: int, canonical: str) -> list[str]:
    """The column's values, or empty cells when the header lacks it."""
    j = header.index.get(canonical)
    return [""] * rows if j is None else cols[j]


# -- helpers ---------------------------------------------------------------------------------


def _filled(cols: list[list[str]], alt: tuple[int, ...]) -> list[bool]:
    if len(alt) == 1:
        return [bool(v) for v in cols[alt[0]]]
    return [all(row) for row in zip(*(cols[j] for j in alt), strict=True)]


def _usable(batch: _Batch, need: list[int], currency: int | None) -> list[int] | None:
    """Records whose `need` fields hold valid values and whose currency is valid or empty
    (None: all records)."""
    keep = [set(idx) for idx, _ in map(batch.valid, need) if idx is not None]
    if currency is not None and batch.bad[currency]:
        keep.append(set(range(len(batch.lines))) - batch.bad[currency].keys())
    return sorted(set.intersection(*keep)) if keep else None


_THIRD_LAST = itemgetter(slice(-3, -2))


def _to_cents(prices: list[str]) -> list[int]:
    """Valid prices (digits, at most two decimals) in hundredths: when every one has two
    decimals, by dropping the point (C-level maps, no Python call per value)."""
    if list(map(_THIRD_LAST, prices)).count(".") == len(prices):
        return list(map(int, map(str.replace, prices, repeat("."), repeat(""))))
    return list(map(_one_in_cents, prices))


def _one_in_cents(value: str) -> int:
    whole, _, fraction = value.partition(".")
    if len(fraction) <= 2 and whole.isascii() and fraction.isascii():
        with contextlib.suppress(ValueError):
            return int(whole + fraction.ljust(2, "0"))
    return int(Decimal(value) * 100)


def _shortest_match(pattern: re.Pattern[str] | None) -> int:
    """Characters of the shortest text `pattern` can match (0 when unknown): a value it matches
    is at least that long, since a search's match is part of the value."""
    if pattern is None:
        return 0
    try:
        from re import _parser  # type: ignore[attr-defined]

        width = _parser.parse(pattern.pattern, pattern.flags).getwidth()[0]
    except Exception:  # a private module: without it the bound is only looser
        return 0
    return width if isinstance(width, int) else 0


def _encoded(size: int) -> int:
    """Bytes of a message carrying `size` bytes as a base64 attachment."""
    return size * 4 // 3 + HEADER_ALLOWANCE


def _instant(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _instant_or_max(value: str) -> dt.datetime:
    return _instant(value) or dt.datetime.max.replace(tzinfo=dt.UTC)


def _instant_or_min(value: str) -> dt.datetime:
    return _instant(value) or dt.datetime.min.replace(tzinfo=dt.UTC)


def _utc(instant: dt.datetime) -> dt.datetime:
    try:
        return instant.astimezone(dt.UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 or 9999 pushed off the calendar by its offset
        return instant.replace(tzinfo=None)


def _naive(value: str) -> dt.datetime:
    return dt.datetime.strptime(value[:16], _MINUTE)


def _minute(moment: dt.datetime, shift: dt.timedelta) -> str:
    """`moment + shift` in the fixed-width form EventDates start with, clamped to the calendar."""
    try:
        moment = moment + shift
    except OverflowError:
        moment = dt.datetime.max if shift > dt.timedelta(0) else dt.datetime.min
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M}"


_DAY = itemgetter(slice(0, 10))
