"""A CSV file as batches of records, each with the physical line where it starts.

Files can hold a million rows, so they are read in large byte blocks and never whole. A block
without a quote character is split into lines and fields with `str.split`, several times faster
than `csv.reader`; a block with a quote goes through `csv.reader`, fed line by line so that the
line where each record starts stays exact even when a quoted field spans lines or blocks. Both
paths give the same records (tests compare them). What is wrong below the level of a record
(encoding, NUL bytes, quotes, blank lines, a BOM) becomes a finding here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import add
from pathlib import Path
from typing import BinaryIO, Protocol, overload

from retrobatch.csvfile import hints
from retrobatch.csvfile.records import MAX_RECORD_BYTES
from retrobatch.findings import Finding, finding

# Each batch costs some Python work in every rule, so fewer are cheaper, until a block's
# strings no longer fit the processor's cache: 256 KiB measured best (1 MiB is 40% slower).
BLOCK_SIZE = 1 << 18
# Larger than any legitimate cell (a 10 MB field must be read, then reported as too long), small
# enough that a quote that never closes cannot swallow a large file into memory.
FIELD_LIMIT = MAX_RECORD_BYTES
BOM = b"\xef\xbb\xbf"
# No template has a tenth as many, and each column costs work in every block (csv.too-many-columns).
MAX_COLUMNS = 1000


class RecordSizes(Sequence[int]):
    """Bytes of each record of a batch, its line end included. A block read without csv.reader
    makes the list only when asked: the longest record and the total, which every batch
    needs, cost a tenth as much, and most files never need the list."""

    def __init__(
        self,
        known: list[int] | None = None,
        *,
        lines: list[str] | None = None,
        extra: int = 1,
        total: int | None = None,
    ) -> None:
        self._known = known
        self._lines = lines or []  # the records' ASCII text, when `known` is None
        self._extra = extra  # bytes of each line end
        self._total = total
        self._longest: int | None = None

    def _list(self) -> list[int]:
        if self._known is None:
            self._known = list(map(add, map(len, self._lines), repeat(self._extra)))
        return self._known

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if self._known is not None:
            return self._known[index]
        if isinstance(index, slice):  # a few records (an order's): the list is not made
            return list(map(add, map(len, self._lines[index]), repeat(self._extra)))
        return len(self._lines[index]) + self._extra

    def __len__(self) -> int:
        return len(self._lines) if self._known is None else len(self._known)

    def __iter__(self) -> Iterator[int]:
        return iter(self._list())

    def __repr__(self) -> str:
        return f"RecordSizes({self._list()!r})"

    @property
    def longest(self) -> int:
        if self._longest is None:
            if self._known is not None:
                self._longest = max(self._known, default=0)
            else:
                self._longest = max(map(len, self._lines), default=-self._extra) + self._extra
        return self._longest

    @property
    def total(self) -> int:
        if self._total is None:
            self._total = sum(self._list())
        return self._total


@dataclass
class Records:
    """Consecutive data records of a file, as columns (one list per header field)."""

    lines: Sequence[int]  # where each record starts
    cols: list[list[str]]
    sizes: RecordSizes
    odd: list[tuple[int, int]]  # (line, fields) of records whose width differs from the header's
    maybe_empty: bool  # False when no cell is empty
    # The text the records were split from, when read without csv.reader: a character absent
    # from it is absent from every cell, which lets a check skip a whole batch at once.
    text: str | None


@dataclass
class _Block:
    first: int  # number of the block's first line
    lines: list[str]  # without "\n"; "\r" kept
    text: str


class _Stop(Exception):
    """The rest of the file cannot be read as CSV; the finding says why."""


class _Blocks:
    """Decoded complete lines of a file, a large block at a time."""

    def __init__(self, fh: BinaryIO, rel: str, block_size: int, findings: list[Finding]) -> None:
        self._fh = fh
        self._rel = rel
        self._block_size = block_size
        self._findings = findings
        self._pending = b""
        self._next_line = 1
        self._started = False

    def next(self) -> _Block | None:
        data = self._read()
        if data is None:
            return None
        if not self._started:
            self._started = True
            if looks_utf16(data):
                self._stop(
                    finding(
                        "csv.encoding",
                        self._rel,
                        "this is UTF-16: save it as CSV UTF-8 (or run retrobatch fix)",
                        1,
                    )
                )
            if b"\r" in data and b"\n" not in data:
                self._stop(
                    finding(
                        "csv.line-ends",
                        self._rel,
                        "lines end in a lone CR (old Mac format): save as CSV UTF-8 "
                        "(or run retrobatch fix)",
                        1,
                    )
                )
            if data.startswith(BOM):
                data = data[len(BOM) :]
                self._findings.append(
                    finding("csv.bom", self._rel, "the file starts with a UTF-8 byte order mark", 1)
                )
        first = self._next_line
        nul = data.find(b"\0")
        if nul >= 0:
            line = first + data.count(b"\n", 0, nul)
            hint = hints.for_binary(data[:8]) if first == 1 else None
            self._stop(finding("csv.nul-byte", self._rel, _binary(line), line, hint=hint))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if b"\0" in self._pending:  # binary after all: say so rather than "not UTF-8"
                line = first + data.count(b"\n")
                self._stop(finding("csv.nul-byte", self._rel, _binary(line), line))
            line = first + data.count(b"\n", 0, exc.start)
            byte = data[exc.start : exc.start + 1].hex().upper()
            start = data.rfind(b"\n", 0, exc.start) + 1
            end = data.find(b"\n", exc.start)
            raw = data[start : end if end >= 0 else len(data)]
            self._stop(
                finding(
                    "csv.encoding",
                    self._rel,
                    f"line {line} is not UTF-8 (byte 0x{byte}): save the file as UTF-8",
                    line,
                    hint=hints.for_encoding(raw, self._rel),
                )
            )
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        self._next_line += len(lines)
        return _Block(first, lines, text)

    def _read(self) -> bytes | None:
        """Bytes up to the last complete line; the final line may lack its "\\n"."""
        parts = [self._pending]
        size = len(self._pending)
        while True:
            chunk = self._fh.read(self._block_size)
            if not chunk:
                data = b"".join(parts)
                self._pending = b""
                return data or None
            cut = chunk.rfind(b"\n")
            if cut < 0:
                parts.append(chunk)
                size += len(chunk)
                if size > MAX_RECORD_BYTES:  # one line longer than any record can be
                    self._stop(_too_long(self._rel, self._next_line))
                continue
            parts.append(chunk[: cut + 1])
            self._pending = chunk[cut + 1 :]
            return b"".join(parts)

    def _stop(self, problem: Finding) -> None:
        self._findings.append(problem)
        raise _Stop


class Lines(Protocol):
    """A block of decoded lines: this module's and fix's reader's alike."""

    first: int  # the number of its first line
    lines: list[str]  # without their line ends


class LineFeed:
    """Lines for csv.reader, one block after another: a quoted value that runs past a block
    pulls the next. It counts the lines and the bytes handed out, so that each record's first
    line and size are known, and with `keep` keeps the text handed out (`taken`)."""

    def __init__(self, block: Lines, blocks: Iterator[Lines], *, keep: bool = False) -> None:
        self.lines = block.lines
        self.index = 0
        self.line = block.first  # number of the next line to hand out
        self.consumed = 0  # bytes handed out, line ends included
        self.eof = False
        self.taken: list[str] | None = [] if keep else None
        self._blocks = blocks

    def __iter__(self) -> LineFeed:
        return self

    def __next__(self) -> str:
        while self.index >= len(self.lines):
            block = next(self._blocks, None)
            if block is None:
                self.eof = True
                raise StopIteration
            self.lines, self.index = block.lines, 0
        text = self.lines[self.index] + "\n"
        self.index += 1
        self.line += 1
        self.consumed += len(text) if text.isascii() else len(text.encode())
        if self.taken is not None:
            self.taken.append(text)
        return text

    def block_done(self) -> bool:
        return self.index >= len(self.lines)


class CsvStream:
    """Iterate to get the data `Records`; `header` is the first record (None until read, or in
    a file without one); `findings` holds the problems met while reading.

    `fast=False` sends every block through csv.reader (tests compare both paths).
    """

    def __init__(
        self, path: Path, rel: str, *, block_size: int = BLOCK_SIZE, fast: bool = True
    ) -> None:
        self.path = path
        self.rel = rel
        self.block_size = block_size
        self.fast = fast
        self.findings: list[Finding] = []
        self.header: list[str] | None = None
        self.header_line = 1
        self.header_size = 0
        self.position = 0  # bytes of the file read so far, for progress reports

    def __iter__(self) -> Iterator[Records]:
        csv.field_size_limit(FIELD_LIMIT)
        with self.path.open("rb") as fh:
            blocks = _Blocks(fh, self.rel, self.block_size, self.findings)
            try:
                while (block := blocks.next()) is not None:
                    self.position = fh.tell()
                    quick = _quick_lines(block) if self.fast else None
                    if quick is not None:
                        yield self._split(block, *quick)
                    else:
                        yield from self._read(block, blocks)
            except _Stop:
                return

    def _split(self, block: _Block, lines: list[str], extra: int) -> Records:
        """A block without quotes: lines split on commas, all at once when widths agree.
        `lines` are the block's without their line ends, each `extra` bytes long."""
        text: str | None = block.text if extra == 1 else None
        numbers: Sequence[int] = range(block.first, block.first + len(lines))
        if "" in lines:
            numbers, lines = self._drop_blank(numbers, lines)
            text = None
        if self.header is None and lines:
            self.header = lines[0].split(",")
            self.header_line = numbers[0]
            self.header_size = len(lines[0].encode()) + extra
            self._check_width()
            numbers, lines = numbers[1:], lines[1:]
            text = None
        width = len(self.header or ())
        body = "\n".join(lines) if text is None else text.removesuffix("\n")
        n = len(lines)
        if block.text.isascii():  # a character is a byte: sizes come from lengths, on demand
            sizes = RecordSizes(lines=lines, extra=extra, total=len(body) + 1 + (extra - 1) * n)
        else:
            sizes = RecordSizes([len(line.encode()) + extra for line in lines])
        cols = split_columns(body, n, width) if lines else None
        if cols is not None:
            filled = all(map(all, cols))
            # A row of empty cells starts with one: only then are rows looked at one by one.
            if filled or "" not in cols[0] or not _comma_only(cols):
                return Records(numbers, cols, sizes, [], not filled, block.text)
        numbers, lines, listed = self._drop_comma_only(numbers, lines, list(sizes))
        self._in_line_order(block.first)
        return self._columns(numbers, [line.split(",") for line in lines], listed, block.text)

    def _drop_blank(self, numbers: Sequence[int], lines: list[str]) -> tuple[list[int], list[str]]:
        kept_numbers, kept = [], []
        for number, line in zip(numbers, lines, strict=True):
            if line:
                kept_numbers.append(number)
                kept.append(line)
            else:
                self._blank(number)
        return kept_numbers, kept

    def _drop_comma_only(
        self, numbers: Sequence[int], lines: list[str], sizes: list[int]
    ) -> tuple[Sequence[int], list[str], list[int]]:
        """A spreadsheet's row of empty cells (`,,,,`) is a blank line, not a record."""
        blank = [k for k, line in enumerate(lines) if not line.strip(",")]
        if not blank:
            return numbers, lines, sizes
        for k in blank:
            self._blank(numbers[k])
        dropped = set(blank)
        keep = [k for k in range(len(lines)) if k not in dropped]
        return [numbers[k] for k in keep], [lines[k] for k in keep], [sizes[k] for k in keep]

    def _columns(
        self, numbers: Sequence[int], rows: list[list[str]], sizes: list[int], text: str | None
    ) -> Records:
        """Rows turned into columns; rows of another width than the header's are set apart."""
        width = len(self.header or ())
        odd = [(numbers[i], len(row)) for i, row in enumerate(rows) if len(row) != width]
        if odd:
            keep = [i for i, row in enumerate(rows) if len(row) == width]
            numbers = [numbers[i] for i in keep]
            rows = [rows[i] for i in keep]
            sizes = [sizes[i] for i in keep]
        if not rows:
            empty = [[] for _ in range(width)]
            return Records(numbers, empty, RecordSizes(sizes), odd, False, text)
        cols = [list(col) for col in zip(*rows, strict=True)]
        return Records(numbers, cols, RecordSizes(sizes), odd, True, text)

    def _read(self, block: _Block, blocks: _Blocks) -> Iterator[Records]:
        """A block with quotes (or with fast=False): csv.reader, one physical line at a time."""
        feed = LineFeed(block, iter(blocks.next, None))
        reader = csv.reader(feed, strict=True)
        numbers: list[int] = []
        rows: list[list[str]] = []
        sizes: list[int] = []
        while not feed.block_done():
            start, before = feed.line, feed.consumed
            try:
                row = next(reader)
            except StopIteration:
                break
            except _Stop:
                yield self._columns(numbers, rows, sizes, None)
                raise
            except csv.Error as exc:
                if feed.eof or "field larger" in str(exc):
                    self.findings.append(self._unclosed(start))
                    yield self._columns(numbers, rows, sizes, None)
                    raise _Stop from exc
                self.findings.append(
                    finding(
                        "csv.malformed",
                        self.rel,
                        f"the record starting on line {start} cannot be read as CSV: {exc}",
                        start,
                    )
                )
                continue
            if not row or (self.header is not None and not any(row)):
                self._blank(start)
                continue
            if self.header is None:
                self.header = row
                self.header_line = start
                self.header_size = feed.consumed - before
                self._check_width()
                continue
            numbers.append(start)
            rows.append(row)
            sizes.append(feed.consumed - before)
        yield self._columns(numbers, rows, sizes, None)

    def _in_line_order(self, first: int) -> None:
        """Empty lines and rows of empty cells are told in two passes over a block: merge the
        block's findings back into line order, as the reader path tells them."""
        start = len(self.findings)
        while start and (self.findings[start - 1].line or 0) >= first:
            start -= 1
        self.findings[start:] = sorted(self.findings[start:], key=lambda f: f.line or 0)

    def _check_width(self) -> None:
        """Stop at a header too wide to check in reasonable time."""
        if self.header is not None and len(self.header) > MAX_COLUMNS:
            message = (
                f"the header has {len(self.header):,} columns, more than {MAX_COLUMNS:,}: "
                "the file is not read further"
            )
            self.findings.append(
                finding("csv.too-many-columns", self.rel, message, self.header_line)
            )
            raise _Stop

    def _blank(self, line: int) -> None:
        self.findings.append(finding("csv.blank-line", self.rel, "an empty line, skipped", line))

    def _unclosed(self, line: int) -> Finding:
        return finding(
            "csv.unclosed-quote",
            self.rel,
            f"a quoted field opened in the record starting on line {line} never closes "
            f"(or runs longer than {FIELD_LIMIT // (1024 * 1024)} MiB)",
            line,
        )


def _too_long(rel: str, line: int) -> Finding:
    return finding(
        "csv.record-too-long",
        rel,
        f"line {line} runs past {MAX_RECORD_BYTES // (1024 * 1024)} MiB without ending: no "
        "e-mail could carry it, and the rest of the file is not read",
        line,
    )


def split_columns(
    body: str, lines: int, width: int, delimiter: str = ","
) -> list[list[str]] | None:
    """The cells of `body` (`lines` lines without quotes, joined by "\\n") as `width` columns,
    or None when some line has another number of fields. One split of the whole text, several
    times faster than one per line: each line end becomes a cell of its own ("\\n", which no
    other cell can be), and every line has `width` fields exactly when all of them fall every
    `width + 1` cells."""
    stride = width + 1
    flat = body.replace("\n", f"{delimiter}\n{delimiter}").split(delimiter)
    if len(flat) != lines * stride - 1 or flat[width::stride].count("\n") != lines - 1:
        return None
    return [flat[j::stride] for j in range(width)]


def _comma_only(cols: list[list[str]]) -> bool:
    """Whether some record's cells are all empty."""
    first = cols[0]
    return any(not v and not any(c[i] for c in cols) for i, v in enumerate(first))


def looks_utf16(data: bytes) -> bool:
    """A UTF-16 byte order mark, or text whose every other byte is NUL (UTF-16 without one)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    head = data[:64]
    return len(head) >= 4 and (
        head[1::2].count(0) == len(head) // 2 or head[0::2].count(0) == len(head) // 2
    )


def _binary(line: int) -> str:
    return f"a NUL byte on line {line}: this is a binary file, not CSV text"


def _quick_lines(block: _Block) -> tuple[list[str], int] | None:
    """The block's lines without their line ends, and the bytes of each line end, when
    csv.reader is not needed: no quote, and every line ends in "\\n" or every one in "\\r\\n".
    Anything else (a lone "\\r", or both kinds in one block) is csv.reader's to judge, which
    also measures each record exactly. Only one-character searches: counting "\\r\\n" would
    search for two characters, ten times slower."""
    text = block.text
    if '"' in text:
        return None
    if "\r" not in text:  # a quick scan, where counting takes a pass over every character
        return block.lines, 1
    lines = block.lines
    if text.count("\r") != len(lines):
        return None
    stripped = list(map(str.removesuffix, lines, repeat("\r")))  # C calls, no Python loop
    # As many CRs as lines, and none left once each line lost its last: all are line ends.
    if "\r" in "".join(stripped):
        return None
    block.lines = stripped  # the lines with their CRs are not kept alongside
    return stripped, 2
