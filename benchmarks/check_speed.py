"""How much slower than reading a file with csv.reader is checking it? Targets: 2.0x, 150 MB.

    python benchmarks/check_speed.py [--rows N] [--repeat N]

Writes an item-level file (orders in random order, their lines consecutive) to a temporary
folder, then times, each in a fresh interpreter: a bare csv.reader pass, `check_csv`, and
`retrobatch check` when the installed CLI has that command. Each child reports its own peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

AS_OF = "2026-11-27"
EVENT_TYPE = 12345
HEADER = (
    "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CustomerId,CurrencyCode,ItemPrice,"
    "Category,Sku,Quantity\n"
)
PEAK = "import resource; print(resource.getrusage(resource.RUSAGE_{}).ru_maxrss // 1024)"

BASELINE = """
import csv, sys
n = 0
with open(sys.argv[1], newline="", encoding="utf-8") as fh:
    for row in csv.reader(fh):
        n += 1
"""

CHECK = f"""
import datetime as dt, sys
from pathlib import Path
from retrobatch.csvcheck import CsvContext, check_csv
as_of = dt.datetime(2026, 11, 27, 23, 59, 59, tzinfo=dt.timezone.utc)
result = check_csv(Path(sys.argv[1]), "bench.csv", "item-level", CsvContext({EVENT_TYPE}, as_of))
errors = [f for f in result.findings if f.severity == "error"]
assert not errors, errors[:5]
assert result.stats.rows >= 1, result.stats
"""

CLI = """
import subprocess, sys
cli = [sys.executable, "-m", "retrobatch.cli", "check"]
cli += ["--repo", sys.argv[1], "--as-of", sys.argv[2]]
done = subprocess.run(cli, stdout=subprocess.DEVNULL)
assert done.returncode == 0, done.returncode
"""

SETTINGS = f"""version: 1
sender: conversions@brand.example
destinations:
  "{EVENT_TYPE}": {{name: Online Sale, address: a1b2c3@inbound.example}}
cc_allowed_domains: [brand.example]
"""


def write_file(path: Path, rows: int, seed: int = 7) -> None:
    """Realistic shape: 1-5 lines per order, a catalogue of 2,000 products, 80 days of dates."""
    rng = random.Random(seed)
    products = [(f"SKU-{i:05d}", f"cat-{i % 40}", f"{rng.randint(100, 99999) / 100:.2f}")
                for i in range(2000)]  # fmt: skip
    end = dt.datetime(2026, 11, 27, 12, 0)
    order_ids = rng.sample(range(10**9, 10**10), rows)  # random order, no repeats
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        written = 0
        for oid in order_ids:
            if written >= rows:
                break
            when = (end - dt.timedelta(seconds=rng.randrange(80 * 86400))).strftime(
                "%Y-%m-%dT%H:%M:%S"
            )
            zone = rng.choice(("Z", "+00:00", "-08:00", "+0530"))
            prefix = f"1001,{EVENT_TYPE},{when}{zone},A-{oid},c{oid:x},cust{oid % 99991},USD,"
            lines = min(rng.randint(1, 5), rows - written)
            for sku, category, price in rng.sample(products, lines):
                fh.write(f"{prefix}{price},{category},{sku},{rng.randint(1, 4)}\n")
            written += lines


def run(code: str, *args: str, who: str = "SELF") -> tuple[float, int]:
    """Seconds and peak RSS (MB) of `code` in a fresh interpreter (or of its children)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code + "\n" + PEAK.format(who), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"benchmark child failed:\n{done.stderr}")
    return elapsed, int(done.stdout.split()[-1])


def best(code: str, repeat: int, *args: str, who: str = "SELF") -> tuple[float, int]:
    results = [run(code, *args, who=who) for _ in range(repeat)]
    return min(t for t, _ in results), max(m for _, m in results)


def cli_has_check() -> bool:
    probe = [sys.executable, "-m", "retrobatch.cli", "check", "--help"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def make_repo(root: Path, data: Path) -> None:
    folder = root / "submissions" / "2026-11-27-bench"
    folder.mkdir(parents=True)
    (root / "retrobatch.yaml").write_text(SETTINGS, encoding="utf-8")
    manifest = textwrap.dedent(f"""\
        id: 2026-11-27-bench
        template: item-level
        event_type: {EVENT_TYPE}
        file: conversions.csv
        description: benchmark
        requested_by: ana@brand.example
        """)
    (folder / "manifest.yaml").write_text(manifest, encoding="utf-8")
    shutil.move(data, folder / "conversions.csv")
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_file(args.write, args.rows)
        return 0
    with tempfile.TemporaryDirectory(prefix="retrobatch-bench-") as tmp:
        data = Path(tmp) / "conversions.csv"
        # Written by a child: a child's peak RSS starts from its parent's size at fork.
        write = [sys.executable, __file__, "--write", str(data), "--rows", str(args.rows)]
        subprocess.run(write, check=True)
        size = data.stat().st_size / 1e6
        print(f"file: {args.rows:,} item-level rows, {size:.0f} MB")
        base_t, base_m = best(BASELINE, args.repeat, str(data))
        print(f"csv.reader pass : {base_t:6.2f} s   peak RSS {base_m:4d} MB")
        check_t, check_m = best(CHECK, args.repeat, str(data))
        print(f"check_csv       : {check_t:6.2f} s   peak RSS {check_m:4d} MB")
        ratio = check_t / base_t
        print(f"ratio           : {ratio:6.2f}x  (target <= 2.0x; peak RSS target < 150 MB)")
        ok = ratio <= 2.0 and check_m < 150
        if cli_has_check():
            repo = Path(tmp) / "repo"
            make_repo(repo, data)
            cli_t, cli_m = best(CLI, args.repeat, str(repo), AS_OF, who="CHILDREN")
            print(f"retrobatch check: {cli_t:6.2f} s   peak RSS {cli_m:4d} MB")
            print(f"ratio (CLI)     : {cli_t / base_t:6.2f}x")
        else:
            print("retrobatch check: not timed (the installed CLI has no check command yet)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
