"""A spreadsheet's CSV export as decoded lines, a large block at a time, for `fix`.

The checker's reader (stream.py) takes only the form impact.com takes; this one reads what
spreadsheets write: a stated encoding, UTF-16, CRLF or lone-CR line ends. Line breaks are
found in the bytes (`\\n`, `\\r\\n` or a lone `\\r`), which every encoding whose line ends are
ASCII's writes as ASCII: a line's number and byte offset are known without decoding, so a
record can be read again by seeking to it. Encodings whose line ends are not ASCII bytes
(UTF-16, UTF-32) are first re-encoded as UTF-8 into a scratch file; memory stays one block.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import BinaryIO

from retrobatch.csvfile.records import MAX_RECORD_BYTES

BLOCK_SIZE = 1 << 18  # as the checker's reader: 256 KiB
_PROBE = '\n\r,;\t" 09AZaz-.:/'


class Undecodable(Exception):
    """Bytes the encoding does not define; `line` is where they are, `raw` that line's bytes."""

    def __init__(self, line: int, byte: bytes, raw: bytes) -> None:
        super().__init__(line)
        self.line = line
        self.byte = byte
        self.raw = raw


class TooLong(Exception):
    """A line longer than any record can be (records.MAX_RECORD_BYTES)."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


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


def line_offsets(fh: BinaryIO, wanted: Sequence[int], skip: int = 0) -> dict[int, int]:
    """The byte offset where each wanted line starts (sorted line numbers; one past the last
    line is the file's size). Reads the file once, decoding nothing."""
    found: dict[int, int] = {}
    k = 0
    source = LineSource(fh, "latin-1", skip=skip)
    end_line, end_offset = 1, skip
    for first, offset, data in source.raw_blocks():
        count = breaks(data) + (0 if data.endswith((b"\n", b"\r")) else 1)
        end_line, end_offset = first + count, offset + len(data)
        if k < len(wanted) and wanted[k] < end_line:
            starts = [0, *accumulate(map(len, data.splitlines(keepends=True)))]
            while k < len(wanted) and wanted[k] < end_line:
                found[wanted[k]] = offset + starts[wanted[k] - first]
                k += 1
    while k < len(wanted):  # past the last line break: the end of the file
        found[wanted[k]] = end_offset if wanted[k] >= end_line else skip
        k += 1
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
