"""Figures of a file for status and the PR summary: amounts per currency, partners, and
for modifications the actions and how often each is modified."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from decimal import Decimal
from itertools import compress, repeat
from operator import itemgetter, mul

from retrobatch.csvfile.rules.batch import KNOWN_GOOD, Batch
from retrobatch.csvfile.rules.rule import CsvContext, Rule
from retrobatch.csvfile.templates import HeaderMap, Template
from retrobatch.findings import Finding


class Totals(Rule):
    """Sums kept as batches come: cents per currency (with the prices and quantities already
    converted), distinct partners, and the actions of a modification file."""

    def __init__(self, tpl: Template, header: HeaderMap, ctx: CsvContext, rel: str) -> None:
        super().__init__(tpl, header, ctx, rel)
        self.partners: set[str] = set()
        self.cents: dict[str, int] = {}  # amounts per currency, in hundredths
        self.known_cents: dict[str, int] = {}  # price as written -> hundredths
        self.known_counts: dict[str, int] = {}  # quantity as written -> int
        self.actions: dict[str, tuple[int, int]] = {}

    def feed(self, batch: Batch) -> list[Finding]:
        if self.tpl.kind != "conversion":
            self._actions(batch)
        self._totals(batch)
        return []

    def _actions(self, batch: Batch) -> None:
        count_actions(self.actions, self.header, batch.cols, batch.lines)

    def _totals(self, batch: Batch) -> None:
        m = self.field("MediaId")
        if m is not None:
            self.partners.update(batch.valid(m)[1])
        c = self.field("CurrencyCode")
        q = self.field("Quantity")
        for price_column, per_unit in _PRICES:
            p = self.field(price_column)
            if p is None:
                continue
            need = [p, q] if per_unit and q is not None else [p]
            rows = _usable(batch, need, c)
            columns = [batch.cols[j] for j in need]
            currencies = batch.cols[c] if c is not None else [""] * len(batch.lines)
            if rows is not None:
                columns = [[col[i] for i in rows] for col in columns]
                currencies = [currencies[i] for i in rows]
            if not currencies:
                continue
            if c is not None and rows is None:
                single = len(batch.distinct(c)) == 1
            else:
                single = currencies.count(currencies[0]) == len(currencies)
            if single:
                self._add(currencies[0], self._cents(*columns))
                continue
            for currency in set(currencies):
                mine = list(map(currency.__eq__, currencies))
                self._add(currency, self._cents(*(list(compress(col, mine)) for col in columns)))

    def _cents(self, prices: list[str], quantities: list[str] | None = None) -> int:
        """Sum of prices (times quantities), in hundredths. A catalogue's prices are converted
        once each and then looked up. Prices that keep being new (every one distinct) are
        summed through floating point once the cache is full, which is exact for any total a
        batch can have (`float_total`), and converted one by one only when it is not."""
        counts = None if quantities is None else self._whole(quantities)
        known = self.known_cents
        try:
            units = list(map(known.__getitem__, prices))
        except KeyError:
            if len(known) >= KNOWN_GOOD and (total := float_total(prices, counts)) is not None:
                return total
            units = _to_cents(prices)
            if len(known) < KNOWN_GOOD:
                known.update(zip(prices, units, strict=True))
        return sum(units) if counts is None else sum(map(mul, units, counts))

    def _whole(self, quantities: list[str]) -> list[int]:
        known = self.known_counts
        try:
            return list(map(known.__getitem__, quantities))
        except KeyError:
            pass
        values = list(map(int, quantities))
        if len(known) < KNOWN_GOOD:
            known.update(zip(quantities, values, strict=True))
        return values

    def _add(self, currency: str, cents: int) -> None:
        self.cents[currency] = self.cents.get(currency, 0) + cents


_PRICES = (("Amount", False), ("ItemSubtotal", False), ("ItemPrice", True))


def action_key(action_id: str, order_id: str, tracker: str) -> str | None:
    """How modifications of one action are counted together (repo.modification-limit)."""
    if action_id:
        return f"id:{action_id}"
    if order_id and tracker:
        return f"order:{order_id}:{tracker}"
    return None


def count_actions(
    actions: dict[str, tuple[int, int]],
    header: HeaderMap,
    cols: list[list[str]],
    lines: Sequence[int],
) -> None:
    columns = (column_of(header, cols, len(lines), c) for c in _ACTION_COLUMNS)
    for key, line in zip(map(action_key, *columns), lines, strict=True):
        if key is not None:
            rows, first = actions.get(key, (0, line))
            actions[key] = (rows + 1, first)


_ACTION_COLUMNS = ("ActionId", "OrderId", "ActionTrackerId")


def column_of(header: HeaderMap, cols: list[list[str]], rows: int, canonical: str) -> list[str]:
    """The column's values, or empty cells when the header lacks it."""
    j = header.index.get(canonical)
    return [""] * rows if j is None else cols[j]


# -- helpers ---------------------------------------------------------------------------------


def _usable(batch: Batch, need: list[int], currency: int | None) -> list[int] | None:
    """Records whose `need` fields hold valid values and whose currency is valid or empty
    (None: all records)."""
    keep = [set(idx) for idx, _ in map(batch.valid, need) if idx is not None]
    if currency is not None and batch.bad[currency]:
        keep.append(set(range(len(batch.lines))) - batch.bad[currency].keys())
    return sorted(set.intersection(*keep)) if keep else None


_THIRD_LAST = itemgetter(slice(-3, -2))


def _to_cents(prices: list[str]) -> list[int]:
    """Valid prices (digits, at most two decimals) in hundredths: when every one has two
    decimals, by dropping the point (C-level maps, no Python call per value)."""
    if list(map(_THIRD_LAST, prices)).count(".") == len(prices):
        return list(map(int, map(str.replace, prices, repeat("."), repeat(""))))
    return list(map(_one_in_cents, prices))


EXACT_BELOW = 1e12  # totals (in units, not hundredths) that `float_total` gets exactly


def float_total(prices: list[str], counts: list[int] | None = None) -> int | None:
    """The sum of valid prices (no sign, at most two decimals) times counts, in hundredths,
    through binary floating point; None when the sum is not below EXACT_BELOW.

    Why it is exact: each price becomes the nearest double (off by at most 2^-53 of itself),
    each product with a count is rounded once more, math.fsum rounds the sum of the products
    once and the final times 100 once. The prices being non-negative, the result is within
    5 * 2^-53 of the true sum, which below 10^14 hundredths is under 0.06 of a hundredth:
    rounding to the nearest hundredth gives the exact figure. It is about twice as fast as
    converting each price to an integer, which is what costs on a file of distinct prices."""
    floats = map(float, prices)
    try:
        total = math.fsum(floats if counts is None else map(mul, floats, counts))
    except OverflowError:  # a count too large for a float
        return None
    if not total < EXACT_BELOW:  # nor a price too large for one (inf)
        return None
    return round(total * 100)


def _one_in_cents(value: str) -> int:
    whole, _, fraction = value.partition(".")
    if len(fraction) <= 2 and whole.isascii() and fraction.isascii():
        with contextlib.suppress(ValueError):
            return int(whole + fraction.ljust(2, "0"))
    return int(Decimal(value) * 100)
