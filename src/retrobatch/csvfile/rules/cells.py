"""Rules about single values: formats, required and alternative columns, ids a spreadsheet
turned into numbers, event types, reason codes, expected values and reversals."""

from __future__ import annotations

import re
from collections.abc import Iterable

from retrobatch.csvfile import hints
from retrobatch.csvfile.rules.batch import FEW, KNOWN_GOOD, Batch, shorten
from retrobatch.csvfile.rules.rule import CsvContext, Rule
from retrobatch.csvfile.templates import Column, HeaderMap, Template
from retrobatch.findings import Finding, finding


class CellRules(Rule):
    """Each column's format, checked whole or by its distinct values, and values a record must
    have; the values already found good, per column, carry across batches."""

    def __init__(self, tpl: Template, header: HeaderMap, ctx: CsvContext, rel: str) -> None:
        super().__init__(tpl, header, ctx, rel)
        width = len(header.names)
        self.width = width
        self.columns: list[Column] = [c or tpl.extra for c in header.columns]
        self.distinct = [True] * width  # check distinct values (few) rather than the column
        # Regex columns first: their shortest matches narrow `Batch.widest` for the others.
        self.cell_order = sorted(range(width), key=lambda j: self.columns[j].pattern is None)
        self.floors = [_shortest_match(c.pattern) for c in self.columns]
        self.known_good: list[set[str]] = [set() for _ in range(width)]
        self.misses = [0] * width  # batches in a row whose values were mostly new
        # Whether a record can hold values in two columns of which it may hold only one.
        self.conflicts_possible = any(
            group.exactly
            and sum(all(c in header.index for c in alt) for alt in group.alternatives) > 1
            for group in tpl.groups
        )

    def feed(self, batch: Batch) -> list[Finding]:
        found: list[Finding] = []
        for j in self.cell_order:
            found += self._cells(batch, j)
        if batch.maybe_empty or self.conflicts_possible:
            found += self._missing(batch)
        return found

    def _cells(self, batch: Batch, j: int) -> list[Finding]:
        """Cell problems of field j; when there are none, the length its cells surely have."""
        found = self._cell_problems(batch, j)
        values = batch.known_distinct(j)
        floor = self.floors[j] if not found and not batch.bad[j] else 0
        # The shortest value, when measuring the distinct ones costs less than the length
        # check it may spare a column with a maximum (one measure per cell).
        if values is not None and len(values) * 2 <= len(batch.lines):
            floor = max(floor, min(map(len, values)))
        if floor and (not batch.maybe_empty or (values is not None and "" not in values)):
            batch.set_floor(j, floor)
        return found

    def _cell_problems(self, batch: Batch, j: int) -> list[Finding]:
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
            if len(good) > FEW and good.issuperset(values):
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
            if len(good) < KNOWN_GOOD:
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

    def _missing(self, batch: Batch) -> list[Finding]:
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


class ValueRules(Rule):
    """Values of the right form that are still wrong here: ids a spreadsheet turned into
    numbers, another event type, an unknown reason code, an unexpected status, a status on a
    reversal. Told after the dates, so that findings on one line keep the order they have
    always had."""

    def feed(self, batch: Batch) -> list[Finding]:
        found = self._excel_numbers(batch)
        found += self._event_type(batch)
        found += self._reasons(batch)
        found += self._expected_values(batch)
        found += self._reversals(batch)
        return found

    def _excel_numbers(self, batch: Batch) -> list[Finding]:
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

    def _event_type(self, batch: Batch) -> list[Finding]:
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

    def _reasons(self, batch: Batch) -> list[Finding]:
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

    def _expected_values(self, batch: Batch) -> list[Finding]:
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

    def _reversals(self, batch: Batch) -> list[Finding]:
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


# Id columns whose values a spreadsheet may have turned into numbers in scientific notation.
ID_COLUMNS = ("OrderId", "ClickId", "CustomerId", "CampaignId", "MediaId", "ActionId", "Sku")
_E_PLUS = re.compile(r"E\+[0-9]")
SCIENTIFIC = re.compile(r"(?m)^[0-9](\.[0-9]+)?E\+[0-9]+$")
_MISSES = 8  # batches of mostly new values after which a column is checked whole instead


def _filled(cols: list[list[str]], alt: tuple[int, ...]) -> list[bool]:
    if len(alt) == 1:
        return [bool(v) for v in cols[alt[0]]]
    return [all(row) for row in zip(*(cols[j] for j in alt), strict=True)]


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
