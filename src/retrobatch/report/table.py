"""`check --format csv`: the findings as a table a spreadsheet opens, one finding per row, so
that the people who prepared the rows can sort and filter their problems where they work. Line
N of a CSV is row N of the sheet it came from (the header is row 1) unless a quoted cell holds
a line break.

The table is read by Excel, so it starts with a UTF-8 byte order mark (without one Excel reads
it as the machine's ANSI code page) and ends lines with CRLF. Every text cell that a
spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) is
written after a `'`: a header cell or a value quoted in a message comes from the checked file,
and opening the report must never run what that file holds.
"""

from __future__ import annotations

import csv
import io

from retrobatch.check.result import CheckReport
from retrobatch.findings import Finding

COLUMNS = ("severity", "code", "file", "line", "column", "message", "fix")
BOM = "\ufeff"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def render(report: CheckReport, extra: list[Finding] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for f in [*(extra or []), *report.findings]:
        writer.writerow(
            [
                f.severity,
                f.code,
                _cell(f.path),
                "" if f.line is None else f.line,
                _cell(f.column or ""),
                _cell(f.message),
                _cell(f.hint or ""),
            ]
        )
    return BOM + out.getvalue()


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA) else text
