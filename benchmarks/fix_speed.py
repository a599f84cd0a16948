"""How much slower than reading a file with csv.reader is `retrobatch fix`, and how much memory
does it take? Targets: a clean file's `fix --dry-run` within 5x the csv.reader pass, and a peak
RSS of at most 200 MB for both runs.

    python benchmarks/fix_speed.py [--rows N] [--repeat N]

Writes two item-level files of --rows rows (1,000,000 by default: Excel's limit is 1,048,576)
into temporary git repositories with a retrobatch.yaml and a manifest:

- clean: valid as it is (check_speed.py's catalogue shape), so fix changes nothing;
- excel: what Excel writes on a US machine with a `;` list separator: a byte order mark, CRLF,
  `;` between cells, amounts as `$1,234.50`, dates as `11/20/2026 10:00` (without an offset:
  fix runs with --timezone America/New_York) and 1% of the orders scattered (a line of each
  moved to the end of the file).

Then times, each as a fresh process, the best of --repeat rounds after one that warms up: a
bare csv.reader pass over the clean file, `retrobatch fix --dry-run` on the clean file,
`retrobatch fix --timezone America/New_York` on the excel file (restored before each round)
and `retrobatch import` of the excel file as a new submission (which then runs the same fix;
the submission removed before each round). Prints each one's time, CPU time and peak RSS (the
child's own, from wait4) and the ratios over the csv.reader pass; exits 1 when a target is
missed (the memory target holds for the import too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from check_speed import BASELINE, HEADER, make_repo, measure, print_times, write_catalogue

ZONE = "America/New_York"
TIME_TARGET = 5.0
MEMORY_TARGET = 200  # MB
IMPORTED = "2026-11-28-imported"
EXCEL_HEADER = HEADER.replace("CurrencyCode", "Currency").replace("OrderId", "Order Id")


def write_excel(path: Path, rows: int, seed: int = 11) -> None:
    """The excel shape: see the module's docstring."""
    rng = random.Random(seed)
    end = dt.datetime(2026, 11, 27, 12, 0)
    order_ids = rng.sample(range(10**9, 10**10), rows)
    moved: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("\ufeff" + EXCEL_HEADER.rstrip("\n").replace(",", ";") + "\r\n")
        written = 0
        for oid in order_ids:
            if written >= rows:
                break
            when = end - dt.timedelta(minutes=rng.randrange(80 * 1440))
            if when.month in (3, 11) and when.day < 14:  # stay clear of clock changes
                when -= dt.timedelta(days=14)
            stamp = f"{when.month}/{when.day}/{when.year} {when.hour}:{when.minute:02d}"
            prefix = f"1001;12345;{stamp};A-{oid};c{oid:x};cust{oid % 99991};USD;"
            lines = min(rng.randint(1, 5), rows - written)
            scatter = lines > 1 and rng.random() < 0.01
            for n, sku in enumerate(rng.sample(range(2000), lines)):
                cents = rng.randint(100, 500000)
                price = f"${cents // 100:,}.{cents % 100:02d}"
                line = f"{prefix}{price};cat-{n};SKU-{sku:05d};1\r\n"
                if scatter and n == lines - 1:
                    moved.append(line)
                else:
                    fh.write(line)
            written += lines
        fh.writelines(moved)


def cli(repo: Path, *args: str) -> list[str]:
    script = Path(sys.executable).with_name("retrobatch")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "retrobatch.cli"]
    folder = repo / "submissions" / "2026-11-27-bench"
    return [*head, "fix", str(folder), *args, "--repo", str(repo)]


def import_cli(repo: Path, export: Path) -> list[str]:
    script = Path(sys.executable).with_name("retrobatch")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "retrobatch.cli"]
    return [
        *head, "import", str(export), "--id", IMPORTED, "--template", "item-level",
        "--event-type", "12345", "--timezone", ZONE, "--description", "benchmark",
        "--repo", str(repo),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", choices=("clean", "excel"), help=argparse.SUPPRESS)
    parser.add_argument("--to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:  # in a child, so that the generator's memory is not the parent's
        (write_catalogue if args.write == "clean" else write_excel)(args.to, args.rows, 7)
        return 0
    with tempfile.TemporaryDirectory(prefix="retrobatch-fixbench-") as name:
        tmp = Path(name)
        repos = {}
        for shape in ("clean", "excel"):
            data = tmp / f"{shape}.csv"
            subprocess.run(
                [sys.executable, __file__, "--write", shape, "--to", str(data), "--rows",
                 str(args.rows)],
                check=True,
            )  # fmt: skip
            print(f"{shape}: {args.rows:,} item-level rows, {data.stat().st_size / 1e6:.0f} MB")
            shutil.copy(data, tmp / f"{shape}.orig")
            repos[shape] = tmp / f"repo-{shape}"
            make_repo(repos[shape], data, "item-level")
        clean_csv = repos["clean"] / "submissions" / "2026-11-27-bench" / "conversions.csv"
        excel_csv = repos["excel"] / "submissions" / "2026-11-27-bench" / "conversions.csv"
        export = tmp / "excel-export.csv"
        shutil.copy(tmp / "excel.orig", export)
        imported = repos["excel"] / "submissions" / IMPORTED
        cmds = {
            "csv.reader pass": [sys.executable, "-c", BASELINE, str(clean_csv)],
            "fix --dry-run clean": cli(repos["clean"], "--dry-run"),
            "fix excel": cli(repos["excel"], "--timezone", ZONE),
            "import excel": import_cli(repos["excel"], export),
        }
        before = {
            "fix excel": [sys.executable, "-c",
                          "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])",
                          str(tmp / "excel.orig"), str(excel_csv)],
            "import excel": [sys.executable, "-c",
                             "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)",
                             str(imported)],
        }  # fmt: skip
        times = best_with_restore(cmds, before, args.repeat, tmp / "pycache")
        fixed = excel_csv.read_bytes()
        check = subprocess.run(
            cli(repos["excel"], "--timezone", ZONE, "--dry-run"), capture_output=True, text=True
        )
    base_t = times["csv.reader pass"][0]
    print_times(times, 20)
    clean_t, clean_m, _ = times["fix --dry-run clean"]
    excel_t, excel_m, _ = times["fix excel"]
    _, import_m, _ = times["import excel"]
    repaired = not fixed.startswith(b"\xef\xbb\xbf") and b"\r" not in fixed[:100_000]
    idempotent = "nothing to change" in check.stdout
    ok = (
        clean_t / base_t <= TIME_TARGET
        and max(clean_m, excel_m, import_m) <= MEMORY_TARGET
        and repaired
        and idempotent
    )
    print(
        f"fix --dry-run (clean) / csv.reader: {clean_t / base_t:.2f}x (target <= {TIME_TARGET}x); "
        f"fix (excel) / csv.reader: {excel_t / base_t:.2f}x; peak RSS {clean_m} MB, "
        f"{excel_m} MB and {import_m} MB (import; target <= {MEMORY_TARGET} MB); the excel file "
        f"repaired and a second fix changing nothing: "
        f"{'yes' if repaired and idempotent else 'NO'}: {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


def best_with_restore(
    cmds: dict[str, list[str]], before: dict[str, list[str]], repeat: int, cache: Path
) -> dict[str, tuple[float, int, float]]:
    """check_speed's rounds (bytecode in `cache`, the first round not counted), with `before`
    run ahead of a command (the excel file put back before each `fix` rewrites it, the imported
    submission removed)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    runs: dict[str, list[tuple[float, int, float]]] = {name: [] for name in cmds}
    for _ in range(repeat + 1):
        for name, cmd in cmds.items():
            if name in before:
                subprocess.run(before[name], check=True)
            runs[name].append(measure(cmd, env))
    return {
        n: (min(t for t, _, _ in r[1:]), max(m for _, m, _ in r[1:]), min(c for _, _, c in r[1:]))
        for n, r in runs.items()
    }


if __name__ == "__main__":
    sys.exit(main())
