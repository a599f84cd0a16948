"""Validation of one CSV batch against its template, streaming and a column at a time.

The rules are impact.com's formats as the template schemas state them (docs/formats.md), plus
retrobatch's few policies; each code, whose rule it is and why, is in findings.CATALOGUE
(docs/findings.md). A file is read in
batches of records (`stream`); each batch is turned into columns and handed to one rule object
per concern (`rules/`: cells, dates, values, orders, totals), and each column is checked
whole (its distinct values, or one regex over the column joined by line breaks), so a
million-row file costs under two bare `csv.reader` passes (benchmarks/check_speed.py).
Single cells are looked at only where a column test fails. Everything that must see the whole
file (orders seen twice, the earliest and latest EventDate, totals) is kept by its rule as it
goes and settled when the rule is asked to finish.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from retrobatch.csvfile.rules.batch import Batch, shorten
from retrobatch.csvfile.rules.cells import ID_COLUMNS, SCIENTIFIC, CellRules, ValueRules
from retrobatch.csvfile.rules.dates import DateRules
from retrobatch.csvfile.rules.orders import HEADER_ALLOWANCE, OrderRules
from retrobatch.csvfile.rules.rule import CsvContext, Rule
from retrobatch.csvfile.rules.totals import Totals, action_key, column_of, count_actions
from retrobatch.csvfile.stream import CsvStream, Records
from retrobatch.csvfile.templates import HeaderMap, Template, load_template, map_header
from retrobatch.findings import Finding, finding

__all__ = [
    "HEADER_ALLOWANCE",
    "ID_COLUMNS",
    "MAX_FINDINGS",
    "SCIENTIFIC",
    "CsvContext",
    "CsvResult",
    "CsvStats",
    "FirstLines",
    "Progress",
    "action_key",
    "check_csv",
    "collect_keys",
    "shorten",
]

MAX_FINDINGS = 1000


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
    validation: _Validation | None = None
    # Millions of short-lived lists and no reference cycles: the collector would only cost time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for records in stream:
            if validation is None and stream.header is not None:
                header = map_header(tpl, stream.header, app=ctx.app)
                report.add(header.findings(rel, stream.header_line))
                validation = _Validation(tpl, header, ctx, report, path, stream.header_size)
            report.add(stream.findings)
            stream.findings.clear()
            if validation is not None:
                validation.feed(records)
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
    if validation is None:
        if not fatal:
            report.add([finding("csv.empty", rel, "the file is empty: no header line")])
        return CsvResult(report.finish(), CsvStats(), {}, {}, report.hidden)
    validation.finish()
    stats = validation.stats
    if stats.rows == 0 and not fatal:
        message = "the file has a header but no data rows"
        report.add([finding("csv.empty", rel, message, stream.header_line)])
    return CsvResult(report.finish(), stats, validation.orders, validation.actions, report.hidden)


_FATAL = {
    "csv.nul-byte",
    "csv.encoding",
    "csv.unclosed-quote",
    "csv.unreadable",
    "csv.line-ends",
    "csv.too-many-columns",
}
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


class _Validation:
    """One file's validation: hands each batch to every rule, in an order where a rule that
    marks cells bad comes before those that skip them, and gathers what the rules found."""

    def __init__(
        self,
        tpl: Template,
        header: HeaderMap,
        ctx: CsvContext,
        report: _Report,
        path: Path,
        header_size: int,
    ) -> None:
        self.tpl = tpl
        self.report = report
        self.rel = rel = report.rel
        self.width = len(header.names)
        self.stats = CsvStats()
        self.dates = DateRules(tpl, header, ctx, rel)
        self.order_rules = OrderRules(tpl, header, ctx, rel, path, path.stat().st_size, header_size)
        self.totals = Totals(tpl, header, ctx, rel)
        self.rules: list[Rule] = [
            CellRules(tpl, header, ctx, rel),
            self.dates,
            ValueRules(tpl, header, ctx, rel),
            self.order_rules,
            self.totals,
        ]
        self.path = path
        self.orders: Mapping[str, int] = {}
        self.actions = self.totals.actions

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
            batch = Batch(
                records.lines,
                records.cols,
                records.sizes,
                records.text,
                records.maybe_empty,
                [{} for _ in records.cols],
            )
            for rule in self.rules:
                found += rule.feed(batch)
        self.report.add(found)

    def finish(self) -> None:
        found: list[Finding] = []
        for rule in self.rules:
            found += rule.finish()
        self.report.add(found)
        settled = self.order_rules
        if settled.orders is not None:
            self.orders = settled.orders
        else:
            self.orders = FirstLines(self.path, self.tpl.name, settled.count)
        totals, dates = self.totals, self.dates
        stats = self.stats
        stats.orders = len(self.orders) if self.tpl.kind == "conversion" else len(self.actions)
        stats.amounts = {c: Decimal(cents).scaleb(-2) for c, cents in totals.cents.items()}
        stats.partners = len(totals.partners)
        stats.first_event = dates.first[1] if dates.first else None
        stats.last_event = dates.last[1] if dates.last else None


def collect_keys(path: Path, template: str) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """Orders and actions of a delivered file, read tolerantly: history is not re-judged."""
    tpl = load_template(template)
    orders: dict[str, int] = {}
    actions: dict[str, tuple[int, int]] = {}
    stream = CsvStream(path, path.name)
    header: HeaderMap | None = None
    try:
        for records in stream:
            if header is None:  # mapped once: the header is the stream's first record
                header = map_header(tpl, stream.header or [])
            if tpl.kind != "conversion":
                count_actions(actions, header, records.cols, records.lines)
                continue
            oids = column_of(header, records.cols, len(records.lines), tpl.unique[0])
            for oid, line in zip(oids, records.lines, strict=True):
                if oid:
                    orders.setdefault(oid, line)
    except OSError:
        pass
    return orders, actions
