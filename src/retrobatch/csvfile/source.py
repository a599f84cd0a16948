"""A spreadsheet's CSV export as decoded lines and records, a large block at a time, for `fix`.

The checker's reader (stream.py) takes only the form impact.com takes; this one reads what
spreadsheets write: a stated encoding, UTF-16, CRLF or lone-CR line ends. Line breaks are
found in the bytes (`\\n`, `\\r\\n` or a lone `\\r`), which every encoding whose line ends are
ASCII's writes as ASCII: a line's number and byte offset are known without decoding, so a
record can be read again by seeking to it. Encodings whose line ends are not ASCII bytes
(UTF-16, UTF-32) are first re-encoded as UTF-8 into a scratch file; memory stays one block.

Records come in batches: a block without a quote is split with `str.split` (as the checker's
reader does), as columns when every line is as wide as the header; others go through
csv.reader line by line, so the line where each record starts stays exact.
"""

from __future__ import annotations

import codecs
import csv
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import BinaryIO

from retrobatch.csvfile.records import MAX_RECORD_BYTES
from retrobatch.csvfile.stream import LineFeed, split_columns

BLOCK_SIZE = 1 << 18  # as the checker's reader: 256 KiB
_PROBE = '\n\r,;\t" 09AZaz-.:/'


class Undecodable(Exception):
    """Bytes the encoding does not define; `line` is where they are, `raw` that line's bytes."""

    def __init__(self, line: int, byte: bytes, raw: bytes) -> None:
        super().__init__(line)
        self.line = line
        self.byte = byte
        self.raw = raw


class Unreadable(Exception):
    """The file is not read past `line`: what stands there is said by `code` and `why`, and
    what to do by `fix`."""

    code = ""
    fix = ""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line

    @property
    def why(self) -> str:
        raise NotImplementedError


class Binary(Unreadable):
    """A NUL byte: a binary file, not CSV text."""

    code = "csv.nul-byte"
    fix = "export the sheet as CSV UTF-8 (or import the .xlsx); fix changes nothing"

    @property
    def why(self) -> str:
        return f"a NUL byte on line {self.line}: this is a binary file, not CSV text"


class TooLong(Unreadable):
    """A line longer than any record can be (records.MAX_RECORD_BYTES)."""

    code = "csv.record-too-long"
    fix = "no e-mail could carry it: this is not a CSV export; fix changes nothing"

    @property
    def why(self) -> str:
        limit = MAX_RECORD_BYTES // (1024 * 1024)
        return f"line {self.line} runs past {limit} MiB without ending"


@dataclass
class Block:
    first: int  # the number of its first line
    lines: list[str]  # decoded, line ends removed
    text: str  # the lines joined, each ended by "\n" (the last one only if the file ends so)


def ascii_line_ends(encoding: str) -> bool:
    """Whether the encoding writes ASCII (line ends, delimiters, quotes) as ASCII bytes."""
    try:
        return _PROBE.encode(encoding) == _PROBE.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def breaks(data: bytes) -> int:
    """Line breaks in bytes: `\\n`, `\\r\\n` and a lone `\\r` each count once."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


class LineSource:
    """The lines of a file whose line ends are ASCII bytes, decoded with `encoding` (strict).

    `crlf` and `lone_cr` count the line ends that were not LF, `ends_with_newline` says
    whether the last line had one (both known once every block is read)."""

    def __init__(
        self, fh: BinaryIO, encoding: str, *, skip: int = 0, block_size: int = BLOCK_SIZE
    ) -> None:
        self._fh = fh
        self._encoding = encoding
        self._skip = skip  # bytes at the start that are no text (a byte order mark)
        self._block_size = block_size
        self.crlf = 0
        self.lone_cr = 0
        self.ends_with_newline = True

    def raw_blocks(self) -> Iterator[tuple[int, int, bytes]]:
        """(number of the first line, byte offset, bytes) of complete lines, block by block."""
        fh = self._fh
        fh.seek(self._skip)
        offset = self._skip
        line = 1
        pending = b""
        eof = False
        while not eof:
            chunk = fh.read(self._block_size)
            eof = not chunk
            data = pending + chunk
            if not data:
                return
            cut = len(data) if eof else _cut(data)
            if cut <= 0:
                if len(data) > MAX_RECORD_BYTES:
                    raise TooLong(line)
                pending = data
                continue
            block, pending = data[:cut], data[cut:]
            yield line, offset, block
            line += breaks(block) + (0 if block.endswith((b"\n", b"\r")) else 1)
            offset += len(block)

    def blocks(self) -> Iterator[Block]:
        for first, _offset, data in self.raw_blocks():
            nul = data.find(b"\0")  # the encodings read here write NUL as a zero byte
            if nul >= 0:
                raise Binary(first + breaks(data[:nul]))
            try:
                text = data.decode(self._encoding)
            except UnicodeDecodeError as exc:
                start = max(data.rfind(b"\n", 0, exc.start), data.rfind(b"\r", 0, exc.start)) + 1
                end = min(_find(data, b"\n", exc.start), _find(data, b"\r", exc.start))
                raise Undecodable(
                    first + breaks(data[: exc.start]),
                    data[exc.start : exc.start + 1],
                    data[start:end],
                ) from None
            if "\r" in text:
                crlf = text.count("\r\n")
                self.crlf += crlf
                self.lone_cr += text.count("\r") - crlf
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()
            else:
                self.ends_with_newline = False
            yield Block(first, lines, text)


def line_offsets(fh: BinaryIO, wanted: Sequence[int], skip: int = 0) -> array[int]:
    """Where each wanted line starts (sorted line numbers; one past the last line is the end
    of the file), in the same order. Reads the file once, decoding nothing."""
    found = array("q")
    source = LineSource(fh, "latin-1", skip=skip)
    end_offset = skip
    for first, offset, data in source.raw_blocks():
        count = breaks(data) + (0 if data.endswith((b"\n", b"\r")) else 1)
        end_offset = offset + len(data)
        if len(found) < len(wanted) and wanted[len(found)] < first + count:
            starts = [0, *accumulate(map(len, data.splitlines(keepends=True)))]
            while len(found) < len(wanted) and wanted[len(found)] < first + count:
                found.append(offset + starts[wanted[len(found)] - first])
    while len(found) < len(wanted):  # past the last line break: the end of the file
        found.append(end_offset)
    return found


def transcode(fh: BinaryIO, encoding: str, out: BinaryIO) -> None:
    """The whole file decoded with `encoding` (strict, a byte order mark honoured) written to
    `out` as UTF-8; Undecodable names the line (counted in what decoded) of a bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    fh.seek(0)
    line = 1
    tail = ""  # a "\r" whose "\n" may come in the next chunk
    while True:
        chunk = fh.read(BLOCK_SIZE)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            byte = exc.object[exc.start : exc.start + 1] if exc.object else b""
            raise Undecodable(line + breaks(tail.encode()), bytes(byte), b"") from None
        text = tail + text
        tail = text[-1:] if text.endswith("\r") and chunk else ""
        if tail:
            text = text[:-1]
        line += text.count("\n") + text.count("\r") - text.count("\r\n")
        out.write(text.encode("utf-8"))
        if not chunk:
            break
    out.seek(0)


def _cut(data: bytes) -> int:
    """Where the block ends: after its last line break, but never between a "\\r" and the
    "\\n" the next read may bring."""
    cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
    if cut == len(data) - 1 and data[cut] == 13:
        cut = max(data.rfind(b"\n", 0, cut), data.rfind(b"\r", 0, cut))
    return cut + 1


def _find(data: bytes, needle: bytes, start: int) -> int:
    found = data.find(needle, start)
    return len(data) if found < 0 else found


# -- records ---------------------------------------------------------------------------------


class Malformed(Exception):
    def __init__(self, line: int, why: str) -> None:
        super().__init__(line)
        self.line = line
        self.why = why


@dataclass
class ExportBatch:
    """Consecutive records: as rows, or (every one as wide as the header, none blank, the
    header not among them) as columns."""

    starts: Sequence[int]  # the line where each record starts
    ends: Sequence[int] | None  # where each ends (None: each is one line)
    rows: list[list[str]] | None
    cols: list[list[str]] | None
    text: str  # what they were read from, "\n" line ends


class ExportReader:
    """The records of the input, a block at a time. Blocks without a quote are split with
    `str.split` (as the checker's reader does); others go through csv.reader line by line, so
    the line where each record starts stays exact."""

    def __init__(self, source: LineSource, delimiter: str, width: int | None = None) -> None:
        self.source = source
        self.blocks = source.blocks()
        self.delimiter = delimiter
        self.width = width  # known once the header is: uniform blocks then come as columns
        # A cell as long as a record may be, as the checker reads it (which then says the
        # cell is too long): not csv's default of 128 KiB, which would call it malformed.
        csv.field_size_limit(max(MAX_RECORD_BYTES, csv.field_size_limit()))

    def __iter__(self) -> Iterator[ExportBatch]:
        d = self.delimiter
        for block in self.blocks:
            if '"' in block.text or "\0" in block.text:
                yield self._parsed(block)
                continue
            lines = block.lines
            numbers = range(block.first, block.first + len(lines))
            w = self.width
            cols = split_columns("\n".join(lines), len(lines), w, d) if w and lines else None
            if cols is not None and all(map(str.strip, cols[0])):  # a blank record starts blank
                yield ExportBatch(numbers, None, None, cols, block.text)
                continue
            yield ExportBatch(numbers, None, [line.split(d) for line in lines], None, block.text)

    def _parsed(self, block: Block) -> ExportBatch:
        feed = LineFeed(block, self.blocks, keep=True)
        reader = csv.reader(feed, delimiter=self.delimiter, strict=True)
        starts: list[int] = []
        ends: list[int] = []
        rows: list[list[str]] = []
        while not feed.block_done():
            start = feed.line
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise Malformed(start, str(exc)) from None
            starts.append(start)
            ends.append(feed.line - 1)
            rows.append(row)
        return ExportBatch(starts, ends, rows, None, "".join(feed.taken or ()))


@dataclass
class Body:
    """A batch's data records: blank ones and the header left out, empty extra cells cut."""

    starts: Sequence[int]
    ends: Sequence[int] | None
    rows: list[list[str]] | None  # every record, in order (None: all are in `cols`)
    cols: list[list[str]]  # the records as wide as the header, by column
    eligible: list[int] | None  # which of `rows` those are (None: all)
    blanks: list[tuple[int, list[str]]]
    trimmed: list[tuple[int, list[str]]]  # (line, the empty cells cut)

    def lines(self) -> Sequence[int]:
        """The line of each record in `cols`."""
        if self.eligible is None:
            return self.starts
        return [self.starts[i] for i in self.eligible]

    def keys(self, o: int) -> Sequence[str]:
        if self.rows is None:
            return self.cols[o]
        return [row[o] if len(row) > o else "" for row in self.rows]


def body_of(batch: ExportBatch, header_line: int, width: int) -> Body:
    if batch.cols is not None and batch.starts[0] > header_line:
        return Body(batch.starts, None, None, batch.cols, None, [], [])
    rows = (
        batch.rows
        if batch.rows is not None
        else [list(r) for r in zip(*batch.cols or [], strict=True)]
    )
    starts: list[int] = []
    ends: list[int] = []
    kept: list[list[str]] = []
    blanks: list[tuple[int, list[str]]] = []
    trimmed: list[tuple[int, list[str]]] = []
    for i, row in enumerate(rows):
        line = batch.starts[i]
        if not any(f.strip() for f in row):
            blanks.append((line, row))
            continue
        if line <= header_line:
            continue
        if len(row) > width and not any(v.strip() for v in row[width:]):
            trimmed.append((line, row[width:]))
            row = row[:width]
        starts.append(line)
        ends.append(batch.ends[i] if batch.ends is not None else line)
        kept.append(row)
    eligible = [i for i, row in enumerate(kept) if len(row) == width]
    cols = [list(c) for c in zip(*(kept[i] for i in eligible), strict=True)] or [
        [] for _ in range(width)
    ]
    return Body(starts, ends, kept, cols, eligible, blanks, trimmed)
