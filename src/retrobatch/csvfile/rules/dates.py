"""EventDate rules: days the calendar lacks, the window impact.com accepts, and the
earliest and latest instant of the file."""

from __future__ import annotations

import datetime as dt
from itertools import compress, repeat
from operator import ge, itemgetter, lt

from retrobatch.csvfile.rules.batch import Batch, shorten
from retrobatch.csvfile.rules.rule import CsvContext, Rule
from retrobatch.csvfile.templates import HeaderMap, Template
from retrobatch.findings import Finding, finding

# Characters of the fixed-width start of every valid EventDate, to the minute and the second.
_TO_MINUTE, _TO_SECOND = 16, 19
# An offset (at most 23:59) moves an instant by less than a day: an EventDate whose first 16
# characters are a day or more from a limit is on the same side of it as its instant.
_NEAR = dt.timedelta(days=1)


class DateRules(Rule):
    """EventDate checks; the days already found real and the span so far carry across
    batches."""

    def __init__(self, tpl: Template, header: HeaderMap, ctx: CsvContext, rel: str) -> None:
        super().__init__(tpl, header, ctx, rel)
        self.first: tuple[dt.datetime, str] | None = None
        self.last: tuple[dt.datetime, str] | None = None
        self.first_below = self.last_above = ""  # EventDates that may beat first and last
        self.good_days: set[str] = set()
        self.dates = self._date_rules()
        self.future_from = _minute(ctx.as_of, -_NEAR)

    def feed(self, batch: Batch) -> list[Finding]:
        return self._event_dates(batch)

    def _date_rules(self) -> tuple[int, str, int, str | None, int] | None:
        """(EventDate field, young limit, max age, column that extends it, extended age)."""
        for col in self.tpl.with_keyword("x-max-age-days"):
            j = self.field(col.name)
            if j is None:
                return None
            days = int(col.keywords["x-max-age-days"])
            young_from = _minute(self.ctx.as_of - dt.timedelta(days=days), _NEAR)
            extended = list(col.keywords.get("x-max-age-days-with", {}).items())
            if not extended:
                return j, young_from, days, None, days
            other, longer = extended[0]
            return j, young_from, days, other, int(longer)
        return None

    def _event_dates(self, batch: Batch) -> list[Finding]:
        if self.dates is None:
            return []
        j, young_from, days, ext_name, ext_days = self.dates
        found = self._impossible_days(batch, j)
        valid = batch.valid_values(j)
        if not valid:
            return found
        low, high = min(valid), max(valid)
        # Only dates near a limit need parsing: an offset moves an instant by less than _NEAR.
        near: list[str] = []
        if high >= self.future_from:
            near += compress(valid, map(ge, valid, repeat(self.future_from)))
        if low < young_from:
            near += compress(valid, map(lt, valid, repeat(young_from)))
        as_of = self.ctx.as_of
        ages = {}  # value -> its age in days, for values past a limit
        for value in near:
            instant = _instant(value)
            if instant is not None and (instant > as_of or as_of - instant > dt.timedelta(days)):
                ages[value] = (as_of - instant) / dt.timedelta(days=1)
        if ages:
            found += self._dates_out_of_window(batch, j, ages, days, ext_name, ext_days)
        self._span(valid, low, high)
        return found

    def _dates_out_of_window(
        self,
        batch: Batch,
        j: int,
        ages: dict[str, float],
        days: int,
        ext_name: str | None,
        ext_days: int,
    ) -> list[Finding]:
        name = self.header.names[j]
        ext_j = self.field(ext_name) if ext_name else None
        found = []
        for i, value in enumerate(batch.cols[j]):
            age = ages.get(value)
            if age is None or i in batch.bad[j]:
                continue
            if age < 0:
                code = "csv.date-in-future"
                as_of = f"{self.ctx.as_of:%Y-%m-%dT%H:%M:%SZ}"
                message = f"{name} {shorten(value)} is after {as_of}, the as-of instant"
            elif age > ext_days:
                code = "csv.date-window"
                message = (
                    f"{name} {shorten(value)} is older than {ext_days} days: impact.com ignores it"
                )
            elif ext_j is None or not batch.cols[ext_j][i]:
                code = "csv.date-window"
                message = f"{name} {shorten(value)} is older than {days} days"
                if ext_name:
                    message += f" and has no {self.header.name_of(ext_name)} (up to {ext_days})"
            else:
                continue
            found.append(finding(code, self.rel, message, batch.lines[i], name))
        return found

    def _impossible_days(self, batch: Batch, j: int) -> list[Finding]:
        """Dates the pattern allows but the calendar does not, such as 2026-02-30."""
        values, bad = batch.cols[j], batch.bad[j]
        wrong = set()
        for day in set(map(_DAY, batch.each_value(j))) - self.good_days:
            try:
                dt.date.fromisoformat(day)
                self.good_days.add(day)
            except ValueError:
                wrong.add(day)
        wrong.discard("")
        if not wrong:
            return []
        found = []
        name = self.header.names[j]
        for i in (i for i, v in enumerate(values) if v[:10] in wrong and i not in bad):
            bad[i] = "csv.bad-date"
            message = f"{name} {shorten(values[i])} is not a date on the calendar"
            found.append(finding("csv.bad-date", self.rel, message, batch.lines[i], name))
        return found

    def _span(self, valid: list[str], low: str, high: str) -> None:
        """Earliest and latest EventDate by instant, parsing only those that may beat the ones
        found so far (an offset moves an instant by less than _NEAR). The limits move once a
        batch, not with every better value: a file sorted by date has a better one on every
        row, and formatting a limit for each took seconds a million rows."""
        if self.first is None:
            self.first = (_instant_or_max(low), low)
            self.first_below = _minute(_naive(low), _NEAR)
        if self.last is None:
            self.last = (_instant_or_min(high), high)
            self.last_above = _minute(_naive(high), -_NEAR)
        if low < self.first_below:
            below = list(compress(valid, map(lt, valid, repeat(self.first_below))))
            first = extreme(below, latest=False)
            if first is not None and first[0] < self.first[0]:
                self.first = first
                self.first_below = _minute(_utc(first[0]), _NEAR)
        if high >= self.last_above:
            above = list(compress(valid, map(ge, valid, repeat(self.last_above))))
            last = extreme(above, latest=True)
            if last is not None and last[0] > self.last[0]:
                self.last = last
                self.last_above = _minute(_utc(last[0]), -_NEAR)


def extreme(values: list[str], *, latest: bool) -> tuple[dt.datetime, str] | None:
    """The value with the latest (or earliest) instant, the first of equals; None when none
    parses. Values that all share one layout and one zone sort as text as their instants do,
    so of many such (a file sorted by date has every value of a batch here) only the extreme
    one is parsed."""
    if len(values) > _PARSED_EACH and _one_layout_and_zone(values):
        value = max(values) if latest else min(values)
        instant = _instant(value)
        if instant is not None:
            return instant, value
    best: tuple[dt.datetime, str] | None = None
    for value in values:
        instant = _instant(value)
        if instant is not None and (
            best is None or (instant > best[0] if latest else instant < best[0])
        ):
            best = (instant, value)
    return best


def _one_layout_and_zone(values: list[str]) -> bool:
    """Whether valid EventDates share everything after their minutes but for the seconds
    (seconds or none alike, one fraction and one zone, written the same way): then their text
    orders them as their instants."""
    after_minutes = set(map(_AFTER_MINUTES, values))
    if after_minutes == {":"}:  # seconds, then a fraction or the zone
        rest = set(map(_FROM_SECONDS, values))
    elif after_minutes <= _ZONE_STARTS:  # no seconds: the zone
        rest = set(map(_FROM_MINUTES, values))
    else:
        return False
    return len(rest) == 1


def _instant(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _instant_or_max(value: str) -> dt.datetime:
    return _instant(value) or dt.datetime.max.replace(tzinfo=dt.UTC)


def _instant_or_min(value: str) -> dt.datetime:
    return _instant(value) or dt.datetime.min.replace(tzinfo=dt.UTC)


def _utc(instant: dt.datetime) -> dt.datetime:
    try:
        return instant.astimezone(dt.UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 or 9999 pushed off the calendar by its offset
        return instant.replace(tzinfo=None)


def _naive(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value[:_TO_MINUTE])


def _minute(moment: dt.datetime, shift: dt.timedelta) -> str:
    """`moment + shift` in the fixed-width form EventDates start with, clamped to the calendar."""
    try:
        moment = moment + shift
    except OverflowError:
        moment = dt.datetime.max if shift > dt.timedelta(0) else dt.datetime.min
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M}"


_DAY = itemgetter(slice(0, 10))
_AFTER_MINUTES = itemgetter(_TO_MINUTE)
_FROM_MINUTES = itemgetter(slice(_TO_MINUTE, None))
_FROM_SECONDS = itemgetter(slice(_TO_SECOND, None))
_ZONE_STARTS = frozenset("Z+-")
_PARSED_EACH = 32  # candidates few enough to parse each rather than look at their layout
