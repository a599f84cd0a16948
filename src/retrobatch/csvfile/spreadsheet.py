"""A spreadsheet (.xlsx) read into CSV text the way impact.com needs it: cell types kept.

openpyxl gives each cell its type: dates come as dates (written `YYYY-MM-DD hh:mm:ss`, for
`fix` to give the offset of the named zone), whole numbers as integers (so a 12-digit ClickId
keeps every digit, where a CSV export from Excel shows `1.23457E+11`), other numbers by their
shortest exact decimal form, text as it is. No value goes through a display format.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from retrobatch.errors import UsageError

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm")
ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip file
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003's OLE2 container
XLS_ADVICE = "an Excel 97-2003 workbook (.xls), which retrobatch does not read: save it as .xlsx"
# What a workbook's parts may inflate to, read from the zip's directory before openpyxl reads a
# byte: a zip bomb (kilobytes that inflate to gigabytes) is refused rather than filling the
# disk or, for the shared strings openpyxl holds whole, the memory. Excel's largest sheet
# (1,048,576 rows) of 20 columns is under 1 GB of XML, its shared strings far less.
MAX_PART_BYTES = 2 * 1024**3
MAX_SHARED_STRINGS_BYTES = 512 * 1024**2
EXCEL_MAX_ROWS = 1_048_576


def workbook_kind(head: bytes) -> str | None:
    """What workbook a file is by its first bytes ("xlsx" or "xls"), whatever its name says;
    None for anything else."""
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(XLS_MAGIC):
        return "xls"
    return None


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(Decimal(repr(value)), "f")  # repr: the shortest text that round-trips
    if isinstance(value, dt.datetime):
        spec = "seconds" if not value.microsecond else "microseconds"
        return value.isoformat(sep=" ", timespec=spec)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def xlsx_to_csv(path: Path, out: BinaryIO, sheet: str | None = None) -> int:
    """Write the sheet (the first unless named) to `out` as UTF-8 CSV with LF line ends, row by
    row as it is read; returns its data rows."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    # What a damaged, truncated or odd workbook raises while its rows are read (a read-only
    # workbook reads the sheet's XML as it goes). Opening one, openpyxl has been seen to fail
    # with anything (an empty chart sheet: AttributeError), so any error there means damaged.
    damaged = (
        OSError,
        InvalidFileException,
        KeyError,
        IndexError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        SyntaxError,  # the sheet's XML: ElementTree's ParseError, lxml's XMLSyntaxError
        AttributeError,
        TypeError,
    )
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with fh:
        _refuse_bombs(path, fh)
        try:
            # A file object, not the path: openpyxl refuses a workbook under a .csv name.
            book = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # the library's, on a file it cannot make sense of
            raise UsageError(f"{path}: cannot read as an .xlsx workbook: {exc}") from None
        try:
            return _write_sheet(book, path, out, sheet, damaged)
        finally:
            book.close()


def _refuse_bombs(path: Path, fh: BinaryIO) -> None:
    """Refuse a workbook whose parts say they inflate past what any export needs."""
    try:
        with zipfile.ZipFile(fh) as book:
            parts = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UsageError(f"{path}: cannot read as an .xlsx workbook: {exc}") from None
    finally:
        fh.seek(0)
    for part in parts:
        shared = part.filename.lower().endswith("sharedstrings.xml")
        limit = MAX_SHARED_STRINGS_BYTES if shared else MAX_PART_BYTES
        if part.file_size > limit:
            raise UsageError(
                f"{path}: its part {part.filename} inflates to {part.file_size:,} bytes, more "
                f"than the {limit:,} any export needs: not read"
            )


def _write_sheet(
    book: Any, path: Path, out: BinaryIO, sheet: str | None, damaged: tuple[type, ...]
) -> int:
    sheets = {ws.title: ws for ws in book.worksheets}  # chart sheets hold no rows
    if sheet is not None and sheet not in sheets:
        raise UsageError(
            f"--sheet {sheet!r}: {path.name} has no such sheet (sheets: {', '.join(sheets)})"
        )
    if not sheets:
        raise UsageError(f"{path}: the workbook has no sheet of rows")
    ws = sheets[sheet] if sheet is not None else book.worksheets[0]
    # Written as read: an export of a million rows is never held in memory.
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text, lineterminator="\n")
    width = rows = 0
    try:
        for values in ws.iter_rows(values_only=True):
            row = [cell_text(v) for v in values]
            if not any(v.strip() for v in row):
                continue  # a blank row
            if not rows:  # the header: its last named column is the width
                width = max((i + 1 for i, v in enumerate(row) if v.strip()), default=0)
            cut = max(width, max((i + 1 for i, v in enumerate(row) if v), default=0))
            writer.writerow(row[:cut])
            rows += 1
            if rows > EXCEL_MAX_ROWS:
                raise UsageError(
                    f"{path}: more than Excel's {EXCEL_MAX_ROWS:,} rows in one sheet: not an "
                    "export retrobatch reads"
                )
    except damaged as exc:
        where = f"after {rows:,} rows" if rows else "at its start"
        raise UsageError(f"{path}: the workbook is damaged {where}: {exc}") from None
    finally:
        text.flush()
        text.detach()  # `out` stays open: it is the caller's
    if not rows:
        raise UsageError(f"{path}: the sheet {ws.title!r} is empty")
    return rows - 1
