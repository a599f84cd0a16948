"""`retrobatch fix`: a spreadsheet's CSV export rewritten into the form impact.com takes.

Only changes that lose nothing and need no guess are made: a byte order mark, UTF-16, CRLF or
CR line ends, `;` or tab delimiters, header spellings of known columns, dates in a spreadsheet's
forms (to ISO 8601 with the offset of a named time zone, never an assumed one), amounts with a
currency symbol that matches the row's CurrencyCode or with thousands separators, scattered
lines of one order, blank rows. Whatever cannot be repaired that way stays a finding with a hint,
and the file is checked as usual afterwards. The git diff of the pull request is the review.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from retrobatch.csvfile.stream import looks_utf16
from retrobatch.csvfile.templates import Column, Template
from retrobatch.csvfile.validate import ID_COLUMNS, SCIENTIFIC
from retrobatch.findings import Finding, finding

EXAMPLES = 3  # changes shown per kind
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"

# What each kind of change is called in the report, in the order it is listed.
KINDS = {
    "encoding": "UTF-16 re-encoded as UTF-8",
    "bom": "byte order mark removed",
    "line-ends": "line ends made LF",
    "delimiter": "delimiter made a comma",
    "header": "header names made canonical",
    "empty-columns": "empty trailing columns removed",
    "blank-line": "blank or comma-only lines dropped",
    "spaces": "spaces around values removed",
    "date": "dates made ISO 8601 with an offset",
    "amount": "currency symbols and thousands separators removed",
    "currency": "currency codes made upper-case",
    "order-regrouped": "lines of an order brought together",
    "quoting": "quoting made minimal",
}

# Symbols a spreadsheet puts before or after an amount, and the codes each may stand for.
SYMBOLS = {
    "$": {"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"},
    "US$": {"USD"},
    "€": {"EUR"},
    "£": {"GBP"},
    "¥": {"JPY", "CNY"},
    "₹": {"INR"},
    "CHF": {"CHF"},
    "kr": {"SEK", "NOK", "DKK"},
    "R$": {"BRL"},
    "zł": {"PLN"},
}

_ISO_OFFSET_SPACE = re.compile(
    r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?))$"
)
_ISO_NAIVE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$"
)
_DMY = re.compile(
    r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?$"
)
_SERIAL = re.compile(r"^[1-9][0-9]{4}(\.[0-9]+)?$")  # 1927 to 2173 as Excel day numbers
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_MONEY = re.compile(r"^(?P<pre>[^\d\s.,+-]*)\s*(?P<num>\d[\d.,]*)\s*(?P<post>[^\d\s.,+-]*)$")
_US_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_EU_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$")
_EU_DECIMAL = re.compile(r"^\d+,\d{1,2}$")
_DOT_DECIMAL = re.compile(r"^\d+\.\d{1,2}$")


@dataclass(frozen=True)
class Change:
    line: int  # the line of the record in the file as it was
    column: str | None
    before: str
    after: str


@dataclass
class FixResult:
    """What `fix` would change (`data`: the new bytes, None when nothing changes or the file
    cannot be read) and what it could not repair (findings with hints)."""

    rel: str
    data: bytes | None = None
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Change]] = field(default_factory=dict)
    unfixed: list[Finding] = field(default_factory=list)

    def note(self, kind: str, change: Change, count: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + count
        shown = self.examples.setdefault(kind, [])
        if len(shown) < EXAMPLES:
            shown.append(change)

    def cannot(
        self, code: str, message: str, line: int | None, column: str | None, hint: str
    ) -> None:
        self.unfixed.append(finding(code, self.rel, message, line, column, hint=hint))


def fix_bytes(
    raw: bytes, rel: str, template: Template, timezone: ZoneInfo | None = None
) -> FixResult:
    """The repaired file for `raw`, and what could not be repaired."""
    result = FixResult(rel)
    text = _decoded(raw, result)
    if text is None:
        return result
    if "\r" in text:
        crlf = text.count("\r\n")
        lone = text.count("\r") - crlf
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        what = "CRLF" if not lone else ("CR" if not crlf else "CRLF and CR")
        result.note("line-ends", Change(1, None, what, "LF"), crlf + lone)
    delimiter = _delimiter(text, template)
    if delimiter != ",":
        shown = {";": "';'", "\t": "tab"}[delimiter]
        result.note("delimiter", Change(1, None, shown, "','"))
    rows = _rows(text, delimiter, result)
    if rows is None:
        return result
    rows = [r for r in rows if _kept(r, result)]
    if not rows:
        return _finish(raw, result, [])
    header_line, header = rows[0]
    names = _header(header, template, header_line, result)
    body = rows[1:]
    names, body = _trim_empty_columns(names, body, result)
    columns = [template.columns.get(canonical_name(template, n) or "") for n in names]
    _fix_values(names, columns, body, template, timezone, result)
    body = _regrouped(names, body, template, result)
    return _finish(raw, result, [names, *(r for _, r in body)])


def _decoded(raw: bytes, result: FixResult) -> str | None:
    if looks_utf16(raw):
        little = raw.startswith(b"\xff\xfe") or (
            not raw.startswith(b"\xfe\xff") and raw[1:2] == b"\0"
        )
        try:
            text = raw.decode(
                "utf-16" if raw.startswith(UTF16_BOMS) else "utf-16-le" if little else "utf-16-be"
            )
        except UnicodeDecodeError:
            result.cannot(
                "csv.encoding",
                "the file starts like UTF-16 but does not decode as UTF-16",
                1,
                None,
                "save it from the spreadsheet as CSV UTF-8",
            )
            return None
        result.note("encoding", Change(1, None, "UTF-16", "UTF-8"))
        return text
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]
        result.note("bom", Change(1, None, "BOM", ""))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        result.cannot(
            "csv.encoding",
            f"line {line} is not UTF-8 (byte 0x{raw[exc.start : exc.start + 1].hex().upper()})",
            line,
            None,
            "save it from the spreadsheet as CSV UTF-8; fix never guesses an encoding",
        )
        return None


def _delimiter(text: str, template: Template) -> str:
    """The delimiter under which the first line names the most known columns (comma on a tie)."""
    first = next((line for line in text.split("\n") if line.strip(",;\t ")), "")
    best, score = ",", -1
    for candidate in (",", ";", "\t"):
        fields = next(csv.reader([first], delimiter=candidate), [])
        known = sum(1 for f in fields if canonical_name(template, f) is not None)
        if known > score and (candidate == "," or known > 1):
            best, score = candidate, known
    return best


def _rows(text: str, delimiter: str, result: FixResult) -> list[tuple[int, list[str]]] | None:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    position = 0

    def feed() -> Iterator[str]:
        nonlocal position
        for line in lines:
            position += 1
            yield line + "\n"

    reader = csv.reader(feed(), delimiter=delimiter, strict=True)
    rows = []
    while True:
        start = position + 1
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            result.cannot(
                "csv.malformed",
                f"the record starting on line {start} cannot be read as CSV: {exc}",
                start,
                None,
                "fix this record by hand (a stray quote?); fix changes nothing until then",
            )
            return None
        rows.append((start, row))


def _kept(row: tuple[int, list[str]], result: FixResult) -> bool:
    line, fields = row
    if any(f.strip() for f in fields):
        return True
    result.note("blank-line", Change(line, None, ",".join(fields), ""))
    return False


def canonical_name(template: Template, name: str) -> str | None:
    """The template column a header name means: by case, alias, or with spaces, `_`, `-` or `.`
    between its words (`Order Id`, `order_id`); None when it is none of them."""
    stripped = name.strip().lstrip("\ufeff")
    found = template.canonical(stripped)
    if found is None:
        found = template.canonical(re.sub(r"[\s_.\-]+", "", stripped))
    return found


def _header(fields: list[str], template: Template, line: int, result: FixResult) -> list[str]:
    wanted = [_spelling(template, f) for f in fields]
    names = []
    for f, name in zip(fields, wanted, strict=True):
        if name is None or wanted.count(name) > 1:  # a duplicate stays for check to report
            names.append(f)
            continue
        if name != f:
            result.note("header", Change(line, name, f, name))
        names.append(name)
    return names


def _spelling(template: Template, name: str) -> str | None:
    """The name `fix` writes: the canonical one, except that modification files keep an alias
    in its documented spelling (impact.com's reset file is `Oid,ActionTrackerId,Reason`)."""
    canonical = canonical_name(template, name)
    if canonical is None or template.kind == "conversion":
        return canonical
    key = re.sub(r"[\s_.\-]+", "", name.strip()).lower()
    aliases = {a.lower(): a for a in template.columns[canonical].aliases}
    return aliases.get(key, canonical)


def _trim_empty_columns(
    names: list[str], body: list[tuple[int, list[str]]], result: FixResult
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Trailing nameless columns with no value (a spreadsheet's stray cells) go; so do empty
    fields past the header's width."""
    width = len(names)
    while width > 1 and not names[width - 1].strip():
        if any(len(r) >= width and r[width - 1].strip() for _, r in body):
            break
        width -= 1
    trimmed = []
    for line, row in body:
        if len(row) > width and not any(v.strip() for v in row[width:]):
            result.note("empty-columns", Change(line, None, ",".join(row[width:]), ""))
            row = row[:width]
        trimmed.append((line, row))
    if width < len(names):
        result.note("empty-columns", Change(1, None, ",".join(names[width:]), ""))
        names = names[:width]
    return names, trimmed


_STRIPPED_KINDS = {"integer", "decimal", "date", "currency", "digest", "enum"}


def _fix_values(
    names: list[str],
    columns: list[Column | None],
    body: list[tuple[int, list[str]]],
    template: Template,
    timezone: ZoneInfo | None,
    result: FixResult,
) -> None:
    width = len(names)
    rows = [(line, row) for line, row in body if len(row) == width]
    known = [c.name if c else None for c in columns]
    currency_j = known.index("CurrencyCode") if "CurrencyCode" in known else None
    for j, col in enumerate(columns):
        if col is None:
            continue
        name = names[j]
        if col.kind in _STRIPPED_KINDS:
            for line, row in rows:
                value = row[j]
                if value != value.strip():
                    row[j] = value.strip()
                    result.note("spaces", Change(line, name, value, row[j]))
        if col.kind == "currency":
            for line, row in rows:
                if re.fullmatch(r"[a-z]{3}|[A-Za-z]{3}", row[j]) and row[j] != row[j].upper():
                    result.note("currency", Change(line, name, row[j], row[j].upper()))
                    row[j] = row[j].upper()
        if col.name in ID_COLUMNS:
            for line, row in rows:
                if SCIENTIFIC.fullmatch(row[j]):
                    result.cannot(
                        "csv.excel-number",
                        f"{name} {row[j]!r} is a number in scientific notation",
                        line,
                        name,
                        f"Excel damaged this value; export {name} as text",
                    )
    for j, col in enumerate(columns):
        if col is not None and col.kind == "date":
            _fix_dates(names[j], j, rows, timezone, result)
    for j, col in enumerate(columns):
        if col is not None and col.kind == "decimal":
            _fix_amounts(names[j], j, currency_j, rows, result)


# -- dates -----------------------------------------------------------------------------------


def _fix_dates(
    name: str,
    j: int,
    rows: list[tuple[int, list[str]]],
    timezone: ZoneInfo | None,
    result: FixResult,
) -> None:
    order = day_month_order([row[j] for _, row in rows])
    for line, row in rows:
        value = row[j]
        if not value:
            continue
        spaced = _ISO_OFFSET_SPACE.match(value)
        if spaced:
            row[j] = f"{spaced[1]}T{spaced[2]}"
            result.note("date", Change(line, name, value, row[j]))
            continue
        naive, form = _naive_date(value, order)
        if naive is None:
            if form:
                result.cannot(
                    "csv.bad-date", f"{name} {value!r}: {form}", line, name, _date_hint(form)
                )
            continue
        if timezone is None:
            result.cannot(
                "csv.bad-date",
                f"{name} {value!r} has no offset ({form})",
                line,
                name,
                f"run `retrobatch fix --timezone ZONE` with the zone these times were recorded "
                f"in (e.g. America/New_York): {naive:%Y-%m-%dT%H:%M:%S}±HH:MM",
            )
            continue
        first = naive.replace(tzinfo=timezone, fold=0)
        second = naive.replace(tzinfo=timezone, fold=1)
        if first.utcoffset() != second.utcoffset():
            result.cannot(
                "csv.bad-date",
                f"{name} {value!r} falls in a daylight-saving change of {timezone.key}: "
                "it names no single instant",
                line,
                name,
                "write this one with its offset (e.g. -04:00 or -05:00)",
            )
            continue
        row[j] = first.isoformat()
        result.note("date", Change(line, name, value, row[j]))


def day_month_order(values: list[str]) -> str | None:
    """ "MD" or "DM" for the column's slashed dates when the values settle it, else None."""
    month_first = day_first = True
    seen = False
    for value in values:
        m = _DMY.match(value.strip())
        if m is None or m[2] == ".":
            continue
        seen = True
        a, b = int(m[1]), int(m[3])
        month_first = month_first and a <= 12 and b <= 31
        day_first = day_first and b <= 12 and a <= 31
    if not seen or month_first == day_first:
        return None
    return "MD" if month_first else "DM"


def _naive_date(value: str, order: str | None) -> tuple[dt.datetime | None, str]:
    """The local date-time a spreadsheet form names, and the form's name ("" when the value is
    not a form fix knows, or already has an offset). None with a form: the form is known but
    the value cannot be read unambiguously."""
    m = _ISO_NAIVE.match(value)
    if m:
        fraction = int((m[7] or "0").ljust(6, "0"))
        parts = [int(p) for p in m.groups()[:5]]
        return _datetime(*parts, int(m[6] or 0), fraction), "YYYY-MM-DD hh:mm"
    m = _DMY.match(value)
    if m:
        a, sep, b, year = int(m[1]), m[2], int(m[3]), int(m[4])
        hour, minute, second = int(m[5]), int(m[6]), int(m[7] or 0)
        if m[8]:
            if not 1 <= hour <= 12:
                return None, "a 12-hour time outside 1..12"
            hour = hour % 12 + (12 if m[8].lower() == "pm" else 0)
        if sep == ".":
            order, form = "DM", "D.M.YYYY hh:mm"
        else:
            form = f"M{sep}D{sep}YYYY hh:mm" if order == "MD" else f"D{sep}M{sep}YYYY hh:mm"
        if order is None:
            return None, "day and month cannot be told apart in this column"
        month, day = (a, b) if order == "MD" else (b, a)
        return _datetime(year, month, day, hour, minute, second), form
    if _SERIAL.match(value):
        try:
            days = Decimal(value)
            seconds = int((days * 86400).to_integral_value())
            return _EXCEL_EPOCH + dt.timedelta(seconds=seconds), "an Excel serial number"
        except (InvalidOperation, OverflowError):
            return None, ""
    return None, ""


def _datetime(*parts: int) -> dt.datetime | None:
    try:
        return dt.datetime(*parts)  # type: ignore[misc]
    except ValueError:
        return None


def _date_hint(form: str) -> str:
    if "apart" in form:
        return "write the dates as YYYY-MM-DDThh:mm:ss with their offset"
    return "write this date as YYYY-MM-DDThh:mm:ss with its offset"


def iso_form(value: str, order: str | None = "MD") -> str | None:
    """The ISO 8601 form (without offset) of a spreadsheet date, for a hint; None if unknown."""
    naive, _form = _naive_date(value.strip(), order)
    return f"{naive:%Y-%m-%dT%H:%M:%S}" if naive else None


# -- amounts ---------------------------------------------------------------------------------


def _fix_amounts(
    name: str,
    j: int,
    currency_j: int | None,
    rows: list[tuple[int, list[str]]],
    result: FixResult,
) -> None:
    numbers = [_MONEY.match(row[j]) for _, row in rows]
    plain = [m["num"] for m in numbers if m]
    european = any(_EU_DECIMAL.match(n) or _EU_THOUSANDS.match(n) for n in plain if "," in n)
    american = any(_DOT_DECIMAL.match(n) or _US_THOUSANDS.match(n) for n in plain)
    for (line, row), m in zip(rows, numbers, strict=True):
        if m is None or (not m["pre"] and not m["post"] and re.fullmatch(r"\d+(\.\d+)?", row[j])):
            continue
        value = row[j]
        marker = m["pre"] or m["post"]
        if m["pre"] and m["post"]:
            continue
        if marker:
            code = row[currency_j].strip().upper() if currency_j is not None else ""
            if code not in SYMBOLS.get(marker, {marker.upper()}):
                why = f"CurrencyCode {code}" if code else "no CurrencyCode to match it"
                result.cannot(
                    "csv.type",
                    f"{name} {value!r} carries {marker!r} and the row has {why}",
                    line,
                    name,
                    "write the amount without a currency symbol and give its CurrencyCode",
                )
                continue
        number = _plain_number(m["num"], european, american)
        if number is None:
            continue
        if number != value:
            row[j] = number
            result.note("amount", Change(line, name, value, number))


def _plain_number(text: str, european: bool, american: bool) -> str | None:
    """`1,234.50` -> `1234.50` (or `1.234,50` in a column that writes decimal commas); None
    when the column mixes both habits and so the separators cannot be read for sure."""
    if re.fullmatch(r"\d+(\.\d+)?", text) and not (european and "." in text):
        return text
    if "," in text and "." in text:  # both separators: the last one is the decimal point
        if _US_THOUSANDS.match(text) and "." in text:
            return text.replace(",", "")
        if _EU_THOUSANDS.match(text) and "," in text:
            return text.replace(".", "").replace(",", ".")
        return None
    if european and american:
        return None
    if _US_THOUSANDS.match(text) and not european:
        return text.replace(",", "")
    if european and (_EU_DECIMAL.match(text) or _EU_THOUSANDS.match(text)):
        return text.replace(".", "").replace(",", ".")
    return None


def money_hint(value: str) -> str | None:
    """The plain form of an amount written with a symbol or thousands separators, for a hint."""
    m = _MONEY.match(value.strip())
    if m is None:
        return None
    number = _plain_number(m["num"], False, True)
    return number if number and number != value else None


# -- orders ----------------------------------------------------------------------------------


def _regrouped(
    names: list[str], body: list[tuple[int, list[str]]], template: Template, result: FixResult
) -> list[tuple[int, list[str]]]:
    """Item-level: an order's lines together, at its first appearance, otherwise in file order."""
    if not template.contiguous or not template.unique or template.unique[0] not in names:
        return body
    o = names.index(template.unique[0])
    groups: dict[str, list[tuple[int, list[str]]]] = {}
    previous = None
    scattered: dict[str, int] = {}
    for k, (line, row) in enumerate(body):
        key = row[o] if len(row) > o and row[o] else f"\0{k}"  # no order: stays where it is
        if key in groups and previous != key:
            scattered.setdefault(key, line)
        groups.setdefault(key, []).append((line, row))
        previous = key
    for key, line in scattered.items():
        lines = ", ".join(str(n) for n, _ in groups[key][:4])
        result.note("order-regrouped", Change(line, names[o], key, f"lines {lines} together"))
    return [item for group in groups.values() for item in group]


# -- output ----------------------------------------------------------------------------------


def _finish(raw: bytes, result: FixResult, rows: list[list[str]]) -> FixResult:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    data = out.getvalue().encode("utf-8")
    if data != raw:
        if not result.counts:
            result.note("quoting", Change(1, None, "", ""))
        result.data = data
    return result


def zone(name: str) -> ZoneInfo:
    """`--timezone NAME` as a zone of the IANA database (DST rules included)."""
    from zoneinfo import ZoneInfoNotFoundError

    from retrobatch.errors import UsageError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--timezone {name!r}: not a time zone of the IANA database (e.g. America/New_York, "
            "Europe/Berlin, UTC)"
        ) from None


def fix_file(
    path: Path, rel: str, template: str, timezone: ZoneInfo | None, *, dry_run: bool = False
) -> FixResult:
    """Repair one submission's CSV in place (or only say what would change)."""
    from retrobatch.csvfile.templates import load_template
    from retrobatch.errors import UsageError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{rel}: cannot read: {exc.strerror}") from None
    result = fix_bytes(raw, rel, load_template(template), timezone)
    if result.data is not None and not dry_run:
        path.write_bytes(result.data)
    return result
