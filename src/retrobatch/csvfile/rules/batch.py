"""One block of well-formed records as columns, as every rule is told it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from retrobatch.csvfile.stream import RecordSizes

SHOWN_VALUE = 60  # characters of a value quoted in a message
FEW = 4  # known good values of a column too few to look each cell up in (counting is cheaper)
KNOWN_GOOD = 20_000  # distinct values remembered per column as checked


def shorten(value: str) -> str:
    """A value for a message: quoted, and cut when long."""
    if len(value) <= SHOWN_VALUE:
        return repr(value)
    return f"{value[:SHOWN_VALUE]!r}… ({len(value):,} characters)"


@dataclass
class Batch:
    """Well-formed records of one block, as columns. Rules mark the cells they find wrong
    in `bad` (field -> record -> code), so later rules skip them."""

    lines: Sequence[int]
    cols: list[list[str]]
    sizes: RecordSizes
    text: str | None  # see Records.text
    maybe_empty: bool
    bad: list[dict[int, str]]
    found: dict[str, bool] = field(default_factory=dict)  # needle -> in text
    _distinct: dict[int, set[str]] = field(default_factory=dict)
    floors: dict[int, int] = field(default_factory=dict)  # field -> length of its every cell
    _floor_total: int = 0  # sum of `floors`, kept so that `widest` costs the same per field

    def distinct(self, j: int) -> set[str]:
        """The distinct values of field j (computed once per batch)."""
        known = self._distinct.get(j)
        if known is None:
            values = self.cols[j]
            if values[0] == values[-1] and values.count(values[0]) == len(values):
                known = {values[0]}
            else:
                known = set(values)
            self._distinct[j] = known
        return known

    def known_distinct(self, j: int) -> set[str] | None:
        """The distinct values of field j if a rule has already asked for them, else None."""
        return self._distinct.get(j)

    def each_value(self, j: int) -> Collection[str]:
        """Every value of field j at least once: its distinct values when already known, else
        the column itself. For what repeats cannot change (a least value, a set of days), so
        that a column of all-different values is not hashed whole for nothing."""
        known = self._distinct.get(j)
        return self.cols[j] if known is None else known

    def valid_values(self, j: int) -> list[str]:
        """Every non-empty value of field j without a cell problem, at least once (see
        `each_value`)."""
        known = self._distinct.get(j)
        if known is None:
            return self.valid(j)[1]
        wrong = {self.cols[j][i] for i in self.bad[j]}
        wrong.add("")
        return list(known - wrong)

    @property
    def longest(self) -> int:
        return self.sizes.longest

    def widest(self, j: int) -> int:
        """A bound on the length of field j's cells, from the longest record less what the
        other fields surely take: a record's bytes hold every cell and the commas between
        them, and a field whose cells all match its pattern takes at least the pattern's
        shortest match (`floors`)."""
        floors = self.floors
        others = self._floor_total - floors.get(j, 0)
        if not self.maybe_empty:  # every other field takes a character at least
            others += len(self.cols) - 1 - len(floors) + (j in floors)
        return self.longest - (len(self.cols) - 1) - others

    def set_floor(self, j: int, floor: int) -> None:
        """Field j's every cell is at least `floor` characters long."""
        self._floor_total += floor - self.floors.get(j, 0)
        self.floors[j] = floor

    def has(self, needle: str) -> bool:
        """Whether the batch's text holds `needle` (asked once per needle, not per column)."""
        known = self.found.get(needle)
        if known is None:
            known = self.found[needle] = self.text is None or needle in self.text
        return known

    def valid(self, j: int) -> tuple[list[int] | None, list[str]]:
        """Non-empty values of field j without a cell problem, and their record indices
        (None: all of them)."""
        values, bad = self.cols[j], self.bad[j]
        if not bad and not (self.maybe_empty and "" in values):
            return None, values
        idx = [i for i, v in enumerate(values) if v and i not in bad]
        return idx, [values[i] for i in idx]
