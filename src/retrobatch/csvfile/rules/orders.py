"""Order rules: an OrderId starts once (item-level: its lines come together and name each
Sku once), and no order is too large for one message."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import accumulate, compress, islice, repeat
from operator import add, gt, itemgetter, ne, sub
from pathlib import Path

from retrobatch.csvfile.rules.batch import Batch, shorten
from retrobatch.csvfile.rules.rule import CsvContext, Rule
from retrobatch.csvfile.stream import CsvStream
from retrobatch.csvfile.templates import HeaderMap, Template
from retrobatch.findings import Finding, finding

HEADER_ALLOWANCE = 16 * 1024  # bytes of e-mail headers next to the base64 attachment


class OrderRules(Rule):
    """Orders of a conversion file. Where each order starts is kept as it goes (a hash and a
    line); whether one starts twice is settled in `finish`, which also reports the orders too
    large for a message at their full size."""

    def __init__(
        self,
        tpl: Template,
        header: HeaderMap,
        ctx: CsvContext,
        rel: str,
        path: Path | None,
        file_size: int,
        header_size: int,
    ) -> None:
        super().__init__(tpl, header, ctx, rel)
        # After `finish`: OrderId -> line of its first record, when some order starts twice
        # (None: read again from the file on first use), and how many orders there are.
        self.orders: dict[str, int] | None = None
        self.count = 0
        # Bytes one order's lines may take; None when the whole file fits in one message.
        room = (ctx.max_email_bytes - HEADER_ALLOWANCE) * 3 // 4 - header_size
        self.size_limit = room if encoded(file_size) > ctx.max_email_bytes else None
        self.header_size = header_size
        self.too_large: dict[str, tuple[int, int]] = {}  # order -> (bytes, first line)
        self.prev_order = ""  # item-level: the order of the previous batch's last record,
        self.prev_keys: set[str] = set()  # the Skus it listed there,
        self.prev_size = 0  # and their bytes
        self.skus_repeat = False  # whether a batch's Skus repeated (a catalogue's do)
        self.run_line = 0  # the line where that order starts
        # Where orders start (item-level: runs of lines), in file order: a hash of the OrderId
        # (the strings would take 60 MB a million) and the line; `orders` is settled at the end.
        self.order_hashes = array("q")
        self.order_lines = array("q")
        self.path = path  # the file, read again only if some order starts twice

    def feed(self, batch: Batch) -> list[Finding]:
        if self.tpl.kind == "conversion":
            return self._orders(batch)
        return []

    def finish(self) -> list[Finding]:
        return self._settle_orders() + self._too_large_findings()

    def _orders(self, batch: Batch) -> list[Finding]:
        """Orders by the template's x-template keys: `unique` (the order, and for item-level
        its Sku) and `contiguous` (an order's lines come together)."""
        o = self.field(self.tpl.unique[0]) if self.tpl.unique else None
        if o is None:
            return []
        if self.tpl.contiguous:
            return self._order_runs(batch, o)
        oids, lines = batch.cols[o], batch.lines
        self._record_orders(batch, o, None)
        if self.size_limit is not None and batch.longest > self.size_limit:
            for i, size in enumerate(batch.sizes):
                if size > self.size_limit and oids[i]:
                    self._too_large(oids[i], size, lines[i])
        return []

    def _record_orders(
        self, batch: Batch, o: int, starts: Sequence[int] | None, ids: list[str] | None = None
    ) -> None:
        """Remember the records where orders start (`starts`, None: every record; `ids`: their
        OrderIds, when known); whether one starts twice is settled in `finish`, with one set
        built at once (probing a growing one batch by batch costs twice as much)."""
        numbers = batch.lines
        lines: Sequence[int]
        if starts is None:  # order-level: every record starts its order
            starts, ids, lines = range(len(numbers)), batch.cols[o], numbers
        elif isinstance(numbers, range) and numbers.step == 1:  # read without csv.reader
            lines = list(map(add, starts, repeat(numbers.start)))
        else:
            lines = list(map(numbers.__getitem__, starts))
        if ids is None:
            ids = list(map(batch.cols[o].__getitem__, starts))
        bad = batch.bad[o]
        if bad or (batch.maybe_empty and "" in ids):
            keep = [k for k, start in enumerate(starts) if ids[k] and start not in bad]
            ids = [ids[k] for k in keep]
            lines = [lines[k] for k in keep]
        self.order_hashes.extend(map(hash, ids))
        self.order_lines.extend(lines)

    def _order_runs(self, batch: Batch, o: int) -> list[Finding]:
        """Item-level: the lines of an order are consecutive, and name each Sku once."""
        oids = batch.cols[o]
        n = len(oids)
        starts = [0, *compress(range(1, n), map(ne, islice(oids, 1, None), oids))]
        ends = [*starts[1:], n]
        run_oids = list(map(oids.__getitem__, starts))
        continued = bool(self.prev_order) and run_oids[0] == self.prev_order
        if continued:
            self._record_orders(batch, o, starts[1:], run_oids[1:])
        else:
            self._record_orders(batch, o, starts, run_oids)
        found = []
        s = self.field(self.tpl.unique[1]) if len(self.tpl.unique) > 1 else None
        if s is not None:
            found = self._duplicate_skus(batch, o, s, starts, ends, continued)
        if self.size_limit is not None:
            self._run_sizes(batch, starts, ends, run_oids, continued)
        if not (continued and len(starts) == 1):
            self.run_line = batch.lines[starts[-1]]
        self.prev_order = run_oids[-1]
        return found

    def _run_sizes(
        self,
        batch: Batch,
        starts: list[int],
        ends: list[int],
        run_oids: list[str],
        continued: bool,
    ) -> None:
        """Runs of one order too large for a message; only a run longer than the batch can be,
        so most batches need one sum."""
        assert self.size_limit is not None
        carried = self.prev_size if continued else 0
        last = sum(batch.sizes[starts[-1] :])
        self.prev_size = last + (carried if len(starts) == 1 else 0)
        if batch.sizes.total + carried <= self.size_limit:
            return
        offsets = [0, *accumulate(batch.sizes)]
        sizes = list(map(sub, map(offsets.__getitem__, ends), map(offsets.__getitem__, starts)))
        sizes[0] += carried
        for k in compress(range(len(sizes)), map(gt, sizes, repeat(self.size_limit))):
            oid = run_oids[k]
            if oid:
                line = self.run_line if continued and k == 0 else batch.lines[starts[k]]
                self._too_large(oid, sizes[k], line)

    def _duplicate_skus(
        self, batch: Batch, o: int, s: int, starts: list[int], ends: list[int], continued: bool
    ) -> list[Finding]:
        oids, skus = batch.cols[o], batch.cols[s]
        suspects: set[int] = set()
        if continued and not self.prev_keys.isdisjoint(skus[: ends[0]]):
            suspects.add(0)
        # Orders of one line each (every record starts one) cannot name a Sku twice. Skus all
        # different (unique items) settle it with the cheaper set; a catalogue's Skus repeat in
        # every batch, so once they have, that set is not built again. Joined without a
        # separator, two different pairs may look alike ("A-1"+"2X" and "A-12"+"X"): that only
        # makes runs suspects, which are then compared exactly; a real repeat always looks
        # alike. Strings hash faster than tuples of two.
        several = len(starts) < len(oids)
        if several and not self.skus_repeat and len(set(skus)) < len(skus):
            self.skus_repeat = True
        if several and self.skus_repeat and len(set(map(add, oids, skus))) < len(oids):
            # Some (order, Sku) repeats: find the runs whose Skus are not all different.
            runs = list(map(slice, starts, ends))
            distinct = map(len, map(set, map(skus.__getitem__, runs)))
            suspects.update(compress(range(len(runs)), map(ne, distinct, map(sub, ends, starts))))
        found = []
        name = self.header.names[s]
        for k in sorted(suspects):
            if not oids[starts[k]] or starts[k] in batch.bad[o]:
                continue  # no order to speak of: csv.required or a bad OrderId says so
            seen = set(self.prev_keys) if continued and k == 0 else set()
            for i in range(starts[k], ends[k]):
                sku = skus[i]
                if sku and sku in seen:
                    message = f"order {shorten(oids[i])} lists {name} {shorten(sku)} twice"
                    found.append(
                        finding("csv.duplicate-row", self.rel, message, batch.lines[i], name)
                    )
                seen.add(sku)
        last = skus[starts[-1] :]
        if continued and len(starts) == 1:
            self.prev_keys.update(last)
        else:
            self.prev_keys = set(last)
        return found

    def _settle_orders(self) -> list[Finding]:
        """Count the orders and report those that start twice. Equal hashes are rare (a file
        with such orders, or a collision): only then are the OrderIds where they start read
        again from the file, to compare the strings themselves."""
        hashes, lines = self.order_hashes, self.order_lines
        self.order_hashes = array("q")
        distinct = set(hashes)
        if len(distinct) == len(hashes) or self.path is None:
            self.count = len(distinct)
            return []
        del distinct
        ids = self._ids_at(lines)
        # Inserted last to first, so each order keeps its first line; then in file order.
        firsts = dict(zip(reversed(ids), reversed(lines), strict=True))
        self.orders = orders = dict(sorted(firsts.items(), key=itemgetter(1)))
        self.count = len(orders)
        o = self.field(self.tpl.unique[0])
        name = self.header.names[o] if o is not None else None
        found = []
        for oid, line in zip(ids, lines, strict=True):
            first = orders[oid]
            if first == line:
                continue
            if self.tpl.contiguous:
                code = "csv.order-not-contiguous"
                message = (
                    f"order {shorten(oid)} continues here after other orders "
                    f"(first seen on line {first})"
                )
            else:
                code = "csv.duplicate-row"
                message = f"order {shorten(oid)} appears again (first on line {first})"
            found.append(finding(code, self.rel, message, line, name))
        return found

    def _ids_at(self, lines: Sequence[int]) -> list[str]:
        """The OrderId of the record on each of these lines, read again from the file."""
        assert self.path is not None
        o = self.field(self.tpl.unique[0])
        assert o is not None
        wanted = set(lines)
        at: dict[int, str] = {}
        for records in CsvStream(self.path, self.rel):
            for line, oid in zip(records.lines, records.cols[o], strict=True):
                if line in wanted:
                    at[line] = oid
        return [at.get(line, "") for line in lines]

    def _too_large(self, oid: str, size: int, line: int) -> None:
        """Note an order too large for one message; reported in `finish` with its full size
        (a run of lines that goes on past this batch grows)."""
        known = self.too_large.get(oid)
        self.too_large[oid] = (max(size, known[0]) if known else size, line)

    def _too_large_findings(self) -> list[Finding]:
        if not self.too_large:
            return []
        o = self.field(self.tpl.unique[0])
        name = self.header.names[o] if o is not None else None
        found = []
        for oid, (size, line) in self.too_large.items():
            total = encoded(self.header_size + size)
            message = (
                f"order {shorten(oid)} alone needs about {total:,} bytes as an e-mail, more "
                f"than max_email_bytes ({self.ctx.max_email_bytes:,})"
            )
            found.append(finding("csv.order-too-large", self.rel, message, line, name))
        return found


def encoded(size: int) -> int:
    """Bytes of a message carrying `size` bytes as a base64 attachment."""
    return size * 4 // 3 + HEADER_ALLOWANCE
