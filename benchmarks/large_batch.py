"""What a 1,000,000-row batch costs past `check`: `run --outbox` (splitting it into messages)
and `diff` of a one-line correction, against a bare csv.reader pass in the same run.

    python benchmarks/large_batch.py [--rows N] [--repeat N]

Builds a repository with one committed item-level submission (check_speed's catalogue shape),
changes the Quantity of one line in the middle, then times each command as a fresh process
(best of --repeat rounds after a warm-up) with its own peak RSS. Targets: `run --outbox` within
20x the csv.reader pass and 300 MB; `diff` within 10x and 500 MB (both versions of the file
are held in memory). Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from check_speed import BASELINE, best, make_repo, write_file

TARGETS = {"run --outbox": (20.0, 300), "diff": (10.0, 500)}


def retrobatch(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("retrobatch")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "retrobatch.cli"]
    return [*head, *args]


def correct_one_line(path: Path) -> None:
    """The Quantity of the middle line goes up by one: a correction a reviewer must see."""
    lines = path.read_bytes().split(b"\n")
    middle = len(lines) // 2
    cells = lines[middle].split(b",")
    cells[-1] = str(int(cells[-1]) + 1).encode()
    lines[middle] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retrobatch-large-") as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "batch.csv"
        write_file(data, args.rows, "catalogue")
        repo = tmp / "repo"
        make_repo(repo, data, "item-level")
        git = ["git", "-c", "user.name=bench", "-c", "user.email=b@x"]
        subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
        subprocess.run([*git, "commit", "-q", "-m", "batch"], cwd=repo, check=True)
        csv_path = repo / "submissions" / "2026-11-27-bench" / "conversions.csv"
        outbox = tmp / "outbox"
        cmds = {
            "csv.reader pass": [sys.executable, "-c", BASELINE, str(csv_path)],
            "run --outbox": retrobatch("run", "--repo", str(repo), "--outbox", str(outbox)),
        }
        first = best(cmds, args.repeat, tmp / "pycache")
        correct_one_line(csv_path)
        shutil.rmtree(outbox, ignore_errors=True)
        cmds = {
            "csv.reader pass": cmds["csv.reader pass"],
            "diff": retrobatch("diff", "HEAD", "--repo", str(repo)),
        }
        second = best(cmds, args.repeat, tmp / "pycache")
    print(f"\n{args.rows:,} item-level rows")
    ok = True
    for times, name in ((first, "run --outbox"), (second, "diff")):
        base_t = times["csv.reader pass"][0]
        seconds, peak, _ = times[name]
        ratio_target, memory_target = TARGETS[name]
        met = seconds / base_t <= ratio_target and peak <= memory_target
        ok = ok and met
        print(
            f"{name:<13}: {seconds:6.2f} s  {seconds / base_t:5.1f}x csv.reader ({base_t:.2f} s; "
            f"target <= {ratio_target:g}x)  peak RSS {peak:4d} MB (target <= {memory_target} MB)"
            f": {'met' if met else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
