"""The fix for a failing value, where it is known: said next to the finding.

Only values that already failed a check are looked at, so the checker's speed is untouched.
"""

from __future__ import annotations


def for_value(kind: str, name: str, value: str) -> str | None:
    from retrobatch.csvfile import repairs
    from retrobatch.csvfile.validate import SCIENTIFIC

    if kind == "date":
        order = repairs.day_month_order([value])
        iso = repairs.iso_form(value, order)
        if iso:
            return f"{iso} with its offset, or run `retrobatch fix --timezone ZONE`"
        if repairs.iso_form(value, "MD") and order is None:
            return (
                "day and month cannot be told apart in this value; write YYYY-MM-DDThh:mm:ss "
                "with the offset, or run `retrobatch fix --timezone ZONE`"
            )
        return None
    if kind == "decimal":
        plain = repairs.money_hint(value)
        if plain:
            return f"write {plain} (no currency symbol or thousands separator), or run `fix`"
        if "," in value and value.replace(",", "", 1).isdigit():
            return f"write {value.replace(',', '.')} (a decimal point, not a comma)"
    if kind in ("integer", "string") and SCIENTIFIC.fullmatch(value):
        return f"Excel damaged this value; export {name} as text"
    return None


def for_encoding(line: bytes, path: str) -> str:
    """The fix for a line that is not UTF-8. No encoding is guessed: the line is shown as
    Windows-1252 (what Excel's "CSV (Comma delimited)" writes on Windows) reads it, so that
    the person can tell, with the command that states it."""
    advice = "save it from the spreadsheet as CSV UTF-8 (fix never guesses an encoding)"
    try:
        text = line.decode("cp1252").rstrip("\r\n")
    except UnicodeDecodeError:
        return f"{advice}, or run `retrobatch fix --encoding NAME {path}` with its encoding"
    at = next((i for i, c in enumerate(text) if not c.isascii()), 0)
    start, end = max(at - 30, 0), at + 30
    shown = ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")
    return (
        f"{advice}; in Windows-1252 this line reads {shown!r}: if that is right, run "
        f"`retrobatch fix --encoding cp1252 {path}`"
    )


def for_binary(head: bytes) -> str | None:
    """What a binary file given as CSV most likely is, from its first bytes, and what to do."""
    from retrobatch.csvfile.spreadsheet import XLS_ADVICE, workbook_kind

    kind = workbook_kind(head)
    if kind == "xlsx":
        return (
            "this is a zip file, most likely an .xlsx workbook under a .csv name: "
            "`retrobatch import FILE` reads workbooks (or export the sheet as CSV UTF-8)"
        )
    if kind == "xls":
        return f"this is {XLS_ADVICE} and import it, or save it as CSV UTF-8"
    return None
