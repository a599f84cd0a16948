"""CSV records as raw bytes with their places: the one reader for splitting a batch, mapping
impact.com's errors back to rows and comparing versions of a batch.

A record ends at a line end outside quotes, so a quoted value holding line breaks stays in its
record, as impact.com's CSV reader sees it. Quote parity is kept line by line, so reading is
linear in the file's size however many lines one record spans, and a record (or a line)
longer than `MAX_RECORD_BYTES` stops the reader instead of filling memory. `check` reports
such a record (`csv.record-too-long`) before anything else reads the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

# A record must fit in one e-mail. impact.com documents no limit, but mail servers commonly
# refuse messages over 20-25 MB, and 16 MiB of CSV is 21.3 MB once base64-encoded: nothing
# longer could be delivered, and the limit bounds what any reader holds in memory.
MAX_RECORD_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RawRecord:
    offset: int  # where the record starts in the file
    raw: bytes  # its bytes, line end included
    first: int  # the physical line it starts on (1-based)
    last: int  # the physical line it ends on
    closed: bool = True  # False: a quote opened in it never closes before the end of the file

    @property
    def blank(self) -> bool:
        """An empty line, or a spreadsheet's row of empty cells (`,,,,`): `check` warns about
        both as blank lines (csv.blank-line), so split parts leave both out."""
        return not self.raw.rstrip(b"\r\n").strip(b",")

    def fields(self, encoding: str = "utf-8") -> list[str]:
        text = self.raw.decode(encoding, "replace").rstrip("\r\n")
        if text and '"' not in text and "\r" not in text:
            # What csv reads from a record without quotes (nor an inner CR, which csv takes for
            # a line end): its cells between commas, several times faster.
            return text.split(",")
        return next(csv.reader([text], strict=False), [])


class RecordReader:
    """Iterate for the records of a binary file; `too_long` is then the line where a record
    longer than `limit` starts (the reader stops there), else None."""

    def __init__(self, fh: BinaryIO, limit: int = MAX_RECORD_BYTES) -> None:
        self._fh = fh
        self.limit = limit
        csv.field_size_limit(max(limit, csv.field_size_limit()))  # a record's cells, parsed
        self.too_long: int | None = None

    def __iter__(self) -> Iterator[RawRecord]:
        offset = line = size = start = start_line = 0
        pending: list[bytes] = []
        open_quote = False
        while raw := self._fh.readline(self.limit + 1 - size):
            line += 1
            if not pending:
                start, start_line = offset, line
            pending.append(raw)
            size += len(raw)
            offset += len(raw)
            if size > self.limit:
                self.too_long = start_line
                return
            if raw.count(b'"') % 2:
                open_quote = not open_quote
            if open_quote:
                continue
            yield RawRecord(start, b"".join(pending), start_line, line)
            pending, size = [], 0
        if pending:
            yield RawRecord(start, b"".join(pending), start_line, line, closed=False)
