"""Splitting a batch into messages that each fit under `max_email_bytes`, at order boundaries.

impact.com rejects the later lines of an order that continues after other orders, so an order
never spans two parts. A part is the header line plus the original lines of its orders, byte for
byte (blank lines dropped); it is described by byte spans of the committed file so a large batch
is never held in memory whole. A batch that fits in one message is the committed file itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from retrobatch.csvfile.records import RecordReader
from retrobatch.csvfile.templates import column_index
from retrobatch.findings import Finding, finding

_CHUNK = 1 << 20
_NEVER_FITS = 1 << 62  # the length given to a record too long to read: no message holds it

# Measures a message: (attachment name, attachment length) -> encoded message size.
Sizer = Callable[[str, int], int]


@dataclass(frozen=True)
class Part:
    """One attachment: its name, where its bytes are in the file, and what the receipt says."""

    attachment: str
    spans: tuple[tuple[int, int], ...]  # (offset, length) in the committed file
    sha256: str
    rows: int
    size: int  # attachment bytes

    def read(self, path: Path) -> bytes:
        with path.open("rb") as fh:
            chunks = []
            for offset, length in self.spans:
                fh.seek(offset)
                chunks.append(fh.read(length))
        return b"".join(chunks)


@dataclass
class Split:
    parts: list[Part] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class _Record:
    offset: int
    length: int
    line: int  # 1-based line where the record starts
    key: str | None  # the OrderId, None when the template has none


def part_name(submission_id: str, index: int, count: int) -> str:
    if count == 1:
        return f"{submission_id}.csv"
    return f"{submission_id}.part-{index}-of-{count}.csv"


def split_batch(
    path: Path,
    rel: str,
    submission_id: str,
    template: str,
    max_bytes: int,
    sizer: Sizer,
) -> Split:
    """The attachments for a batch: the whole file when it fits, else parts named N-of-M."""
    total = path.stat().st_size
    whole = part_name(submission_id, 1, 1)
    if sizer(whole, total) <= max_bytes:
        sha, rows = _describe_whole(path, template)
        return Split([Part(whole, ((0, total),), sha, rows, total)])
    # The size of a part's name depends on how many parts there are: retry with wider counts.
    # (Always from one digit, so that a later run splits a batch exactly as an earlier one did.)
    digits = 1
    while True:
        widest = int("9" * digits)
        budget = _largest_fit(sizer, part_name(submission_id, widest, widest), max_bytes)
        grouping = _group(path, template, budget)
        if grouping.too_large is not None:
            return Split(findings=[_too_large(grouping.too_large, rel, max_bytes)])
        count = len(grouping.groups)
        if len(str(count)) <= digits:
            parts = [
                _describe_part(path, part_name(submission_id, i, count), grouping.header, group)
                for i, group in enumerate(grouping.groups, start=1)
            ]
            return Split(parts)
        digits = len(str(count))


def _largest_fit(sizer: Sizer, name: str, max_bytes: int) -> int:
    """The most attachment bytes a message named `name` can carry (-1 when none fit)."""
    low, high = -1, max_bytes
    while low < high:
        middle = (low + high + 1) // 2
        if sizer(name, middle) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return low


@dataclass
class _Group:
    """The orders of one part, as byte spans of the file (records themselves are not kept:
    a million of them would take hundreds of megabytes)."""

    spans: list[tuple[int, int]] = field(default_factory=list)  # (offset, length), merged
    rows: int = 0
    size: int = 0

    def add(self, order: list[_Record]) -> None:
        for record in order:
            _extend(self.spans, record.offset, record.length)
            self.size += record.length
        self.rows += len(order)


@dataclass
class _Grouping:
    header: _Record | None = None
    groups: list[_Group] = field(default_factory=list)
    too_large: _Record | None = None  # the first record of an order that fits in no message


def _group(path: Path, template: str, budget: int) -> _Grouping:
    """Whole orders packed greedily, in file order, under `budget` bytes with the header."""
    records = _records(path, template)
    grouping = _Grouping(header=next(records, None))
    if grouping.header is None:
        return grouping
    room = budget - grouping.header.length
    groups = grouping.groups
    for order in _orders(records):
        length = sum(r.length for r in order)
        if length > room:
            grouping.too_large = order[0]
            return grouping
        if not groups or groups[-1].size + length > room:
            groups.append(_Group())
        groups[-1].add(order)
    return grouping


def _too_large(first: _Record, rel: str, max_bytes: int) -> Finding:
    what = f"order {first.key!r}" if first.key is not None else "this record"
    return finding(
        "csv.order-too-large",
        rel,
        f"{what} alone does not fit in one message of at most {max_bytes:,} bytes",
        first.line,
        "OrderId" if first.key is not None else None,
    )


def _describe_part(path: Path, name: str, header: _Record | None, group: _Group) -> Part:
    head = [(header.offset, header.length)] if header is not None else []
    spans = _merge_spans([*head, *group.spans])
    part = Part(name, spans, "", group.rows, sum(length for _, length in spans))
    return replace(part, sha256=hashlib.sha256(part.read(path)).hexdigest())


def _describe_whole(path: Path, template: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    rows = sum(1 for _ in _records(path, template)) - 1
    return digest.hexdigest(), max(rows, 0)


def _merge_spans(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for offset, length in spans:
        _extend(merged, offset, length)
    return tuple(merged)


def _extend(spans: list[tuple[int, int]], offset: int, length: int) -> None:
    """Add a span, joined to the last one when it starts where that one ends."""
    if spans and spans[-1][0] + spans[-1][1] == offset:
        spans[-1] = (spans[-1][0], spans[-1][1] + length)
    else:
        spans.append((offset, length))


def _orders(records: Iterator[_Record]) -> Iterator[list[_Record]]:
    """Consecutive records of one OrderId; a record without a key is an order of its own."""
    current: list[_Record] = []
    for record in records:
        if current and (record.key is None or record.key != current[0].key):
            yield current
            current = []
        current.append(record)
    if current:
        yield current


def _records(path: Path, template: str) -> Iterator[_Record]:
    """The header, then each non-blank record with its OrderId. A record past the reader's
    limit ends the file here as one record without a key (no message can carry it)."""
    key_index: int | None = None
    with path.open("rb") as fh:
        reader = RecordReader(fh)
        for number, record in enumerate(reader):
            if number == 0:
                key_index = column_index(template, record.fields(), "OrderId")
                yield _Record(record.offset, len(record.raw), record.first, None)
                continue
            if record.blank:  # an empty line, as the checker counts one
                continue
            key = None
            if key_index is not None and record.closed:
                fields = record.fields()
                key = fields[key_index] if key_index < len(fields) else ""
            yield _Record(record.offset, len(record.raw), record.first, key)
        if reader.too_long is not None:
            yield _Record(0, _NEVER_FITS, reader.too_long, None)
