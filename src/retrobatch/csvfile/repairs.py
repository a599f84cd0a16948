"""One value of a spreadsheet export in the form impact.com takes: dates and amounts.

A repair is made only when it loses nothing and needs no guess. What a column settles as a
whole (whether `3/4/2026` is March or April, whether `1,234` has a thousands separator) is
gathered over the whole file first (`DayMonth`, `Separators`), then each value is repaired on
its own; `fix` streams the file through these functions.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

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

_ISO_OFFSET_SPACE = (
    r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?))"
)
_ISO_NAIVE = r"(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
_DMY = r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?"
_SERIAL = r"[1-9][0-9]{4}(\.[0-9]+)?"  # 1927 to 2173 as Excel day numbers
ISO_OFFSET_SPACE = re.compile(f"^{_ISO_OFFSET_SPACE}$")
ISO_NAIVE = re.compile(f"^{_ISO_NAIVE}$")
DMY = re.compile(f"^{_DMY}$")
SERIAL = re.compile(f"^{_SERIAL}$")
# Any value of a date column that a repair could touch, searched in the column joined with
# "\n": a column without a match needs no look at single values.
DATE_FORMS = re.compile(
    "(?m)^(?:"
    + "|".join(
        re.sub(r"\\2", "[/.-]", re.sub(r"\((?!\?)", "(?:", p))
        for p in (_ISO_OFFSET_SPACE, _ISO_NAIVE, _DMY, _SERIAL)
    )
    + ")$"
)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
MONEY = re.compile(r"^(?P<pre>[^\d\s.,+-]*)\s*(?P<num>\d[\d.,]*)\s*(?P<post>[^\d\s.,+-]*)$")
PLAIN = re.compile(r"\d+(\.\d+)?")
_US_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_EU_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$")
_EU_DECIMAL = re.compile(r"^\d+,\d{1,2}$")
_DOT_DECIMAL = re.compile(r"^\d+\.\d{1,2}$")
# A column of plain amounts, joined with "\n" (empty cells allowed), and one with cents.
PLAIN_COLUMN = re.compile(r"(?:\d+(?:\.\d+)?)?(?:\n(?:\d+(?:\.\d+)?)?)*")
CENTS = re.compile(r"(?m)^\d+\.\d{1,2}$")

Problem = tuple[str, str, str]  # code, message, hint


# -- dates -----------------------------------------------------------------------------------


@dataclass
class DayMonth:
    """Whether a column's slashed dates are month-first or day-first, from all of them."""

    month_first: bool = True
    day_first: bool = True
    seen: bool = False

    def add(self, value: str) -> None:
        m = DMY.match(value.strip())
        if m is None or m[2] == ".":
            return
        self.seen = True
        a, b = int(m[1]), int(m[3])
        self.month_first = self.month_first and a <= 12 and b <= 31
        self.day_first = self.day_first and b <= 12 and a <= 31

    @property
    def order(self) -> str | None:
        """ "MD" or "DM" when the values settle it, else None."""
        if not self.seen or self.month_first == self.day_first:
            return None
        return "MD" if self.month_first else "DM"


def day_month_order(values: list[str]) -> str | None:
    """ "MD" or "DM" for the column's slashed dates when the values settle it, else None."""
    settled = DayMonth()
    for value in values:
        settled.add(value)
    return settled.order


def fixed_date(
    name: str, value: str, order: str | None, timezone: ZoneInfo | None
) -> tuple[str | None, Problem | None]:
    """The ISO 8601 form of a date cell (None: left as it is), or why it cannot be had."""
    if not value:
        return None, None
    spaced = ISO_OFFSET_SPACE.match(value)
    if spaced:
        return f"{spaced[1]}T{spaced[2]}", None
    naive, form = _naive_date(value, order)
    if naive is None:
        if form:
            return None, ("csv.bad-date", f"{name} {value!r}: {form}", _date_hint(form))
        return None, None
    if timezone is None:
        return None, (
            "csv.bad-date",
            f"{name} {value!r} has no offset ({form})",
            f"run `retrobatch fix --timezone ZONE` with the zone these times were recorded "
            f"in (e.g. America/New_York): {naive:%Y-%m-%dT%H:%M:%S}±HH:MM",
        )
    first = naive.replace(tzinfo=timezone, fold=0)
    second = naive.replace(tzinfo=timezone, fold=1)
    if first.utcoffset() != second.utcoffset():
        return None, (
            "csv.bad-date",
            f"{name} {value!r} falls in a daylight-saving change of {timezone.key}: "
            "it names no single instant",
            "write this one with its offset (e.g. -04:00 or -05:00)",
        )
    return first.isoformat(), None


def _naive_date(value: str, order: str | None) -> tuple[dt.datetime | None, str]:
    """The local date-time a spreadsheet form names, and the form's name ("" when the value is
    not a form fix knows, or already has an offset). None with a form: the form is known but
    the value cannot be read unambiguously."""
    m = ISO_NAIVE.match(value)
    if m:
        fraction = int((m[7] or "0").ljust(6, "0"))
        parts = [int(p) for p in m.groups()[:5]]
        return _datetime(*parts, int(m[6] or 0), fraction), "YYYY-MM-DD hh:mm"
    m = DMY.match(value)
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
    if SERIAL.match(value):
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


@dataclass
class Separators:
    """Whether a column writes decimal commas (`12,50`) or decimal points, from all its values."""

    european: bool = False
    american: bool = False

    def add(self, value: str) -> bool:
        """Take one (stripped) cell into account; True when a repair may touch it."""
        m = MONEY.match(value)
        if m is None:
            return False
        n = m["num"]
        if "," in n and not self.european:
            self.european = bool(_EU_DECIMAL.match(n) or _EU_THOUSANDS.match(n))
        if not self.american:
            self.american = bool(_DOT_DECIMAL.match(n) or _US_THOUSANDS.match(n))
        return bool(m["pre"] or m["post"]) or PLAIN.fullmatch(value) is None


def fixed_amount(
    name: str, value: str, code: str, seps: Separators
) -> tuple[str | None, Problem | None]:
    """`$1,234.50` -> `1234.50` when the symbol fits the row's CurrencyCode (`code`, "" when
    the file has none); None when the cell stays as it is."""
    m = MONEY.match(value)
    if m is None or (not m["pre"] and not m["post"] and PLAIN.fullmatch(value)):
        return None, None
    marker = m["pre"] or m["post"]
    if m["pre"] and m["post"]:
        return None, None
    if marker and code not in SYMBOLS.get(marker, {marker.upper()}):
        why = f"CurrencyCode {code}" if code else "no CurrencyCode to match it"
        return None, (
            "csv.type",
            f"{name} {value!r} carries {marker!r} and the row has {why}",
            "write the amount without a currency symbol and give its CurrencyCode",
        )
    number = _plain_number(m["num"], seps.european, seps.american)
    if number is None or number == value:
        return None, None
    return number, None


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
    m = MONEY.match(value.strip())
    if m is None:
        return None
    number = _plain_number(m["num"], False, True)
    return number if number and number != value else None
