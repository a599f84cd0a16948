"""Hostile CSV: is every reader of records linear, and is memory bounded by the line limit?

    python benchmarks/hostile_inputs.py [--newlines N] [--single-line-mb N]

1. Splitting: one quoted cell holding N line breaks (80,000 by default, 160 KB), split by the
   runner's batching (the shared record reader), timed against a bare csv.reader pass over the
   same file in the same run; and the same for 2N, whose time must about double (linear).
2. Memory: `check_csv` on a file of one line of --single-line-mb megabytes (300 by default), in
   a fresh process; its peak RSS (from wait4) must stay far below 1 GB, as the reader stops at
   the record limit (16 MiB).
Exits 1 when a target is missed: split within 20x of csv.reader, 2N within 3x of N, 300 MB
single line under 200 MB peak.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = (
    "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CustomerId,CurrencyCode,ItemPrice,"
    "Category,Sku,Quantity\n"
)
ROW = "1000,12345,2026-11-20T12:00:00Z,{order},clk,cust,USD,10.00,{category},SKU-1,1\n"


def newline_file(path: Path, newlines: int) -> None:
    cell = '"' + "x\n" * newlines + '"'
    path.write_text(
        HEADER + ROW.format(order="A-1", category="Shoes") + ROW.format(order="A-2", category=cell),
        encoding="utf-8",
    )


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def bare_csv(path: Path) -> None:
    import csv

    csv.field_size_limit(1 << 30)
    with path.open(newline="", encoding="utf-8") as fh:
        for _ in csv.reader(fh):
            pass


def split(path: Path) -> None:
    from retrobatch.send.batching import split_batch

    split_batch(path, "x.csv", "2026-11-20-x", "item-level", 1 << 20, lambda _n, n: n + 1000)


MEMORY_CHILD = """
import sys
from pathlib import Path
from retrobatch.csvfile.validate import CsvContext, check_csv
import datetime as dt
ctx = CsvContext(event_type=12345, as_of=dt.datetime.now(dt.UTC), app=False, custom_reasons=(),
                 max_email_bytes=10 * 1024 * 1024)
result = check_csv(Path(sys.argv[1]), "x.csv", "item-level", ctx)
print(sorted({f.code for f in result.findings}))
"""


def peak_rss_mb(cmd: list[str]) -> tuple[int, str]:
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    out = child.stdout.read().decode() if child.stdout else ""
    if status != 0:
        err = child.stderr.read().decode() if child.stderr else ""
        raise SystemExit(f"child failed: {err}")
    return usage.ru_maxrss // 1024, out.strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--newlines", type=int, default=80_000)
    parser.add_argument("--single-line-mb", type=int, default=300)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp) / "one.csv", Path(tmp) / "two.csv"
        newline_file(one, args.newlines)
        newline_file(two, 2 * args.newlines)
        base = min(timed(bare_csv, one) for _ in range(3))
        t1 = min(timed(split, one) for _ in range(3))
        t2 = min(timed(split, two) for _ in range(3))
        ratio, growth = t1 / base, t2 / t1
        print(
            f"split, {args.newlines:,} line breaks in one cell: {t1:.3f}s; csv.reader {base:.3f}s;"
            f" ratio {ratio:.1f}x (target 20x)"
        )
        print(
            f"split, {2 * args.newlines:,} line breaks: {t2:.3f}s, {growth:.2f}x the time "
            "(linear: about 2x; target under 3x)"
        )
        ok &= ratio <= 20 and growth <= 3
        big = Path(tmp) / "big.csv"
        with big.open("wb") as fh:
            fh.write(HEADER.encode())
            block = b"x" * (1 << 20)
            for _ in range(args.single_line_mb):
                fh.write(block)
        peak, codes = peak_rss_mb([sys.executable, "-c", MEMORY_CHILD, str(big)])
        print(
            f"check_csv, one line of {args.single_line_mb} MB: peak RSS {peak} MB "
            f"(target under 200 MB); findings {codes}"
        )
        ok &= peak < 200
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
