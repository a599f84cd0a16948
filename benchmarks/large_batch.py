"""What a 1,000,000-row batch costs past `check`: `run --outbox` (splitting it into messages),
`diff` of a one-line correction and `status ID` placing 10,000 impact.com errors on their rows,
against a bare csv.reader pass in the same run.

    python benchmarks/large_batch.py [--rows N] [--repeat N]

Builds a repository with one committed item-level submission (check_speed's catalogue shape),
changes the Quantity of one line in the middle, then times each command as a fresh process
(best of --repeat rounds after a warm-up) with its own peak RSS. Targets: `run --outbox` within
20x the csv.reader pass and 300 MB; `diff` within 10x and 500 MB (both versions of the file
are held in memory); `status ID` within 10x and 400 MB. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from check_speed import BASELINE, best, make_repo, write_file

TARGETS = {"run --outbox": (20.0, 300), "diff": (10.0, 500), "status ID": (10.0, 400)}
SUB = "2026-11-27-bench"
ERRORS = 10_000


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


def write_receipt_with_errors(repo: Path) -> None:
    """A receipt as `run` and `reconcile` leave it: the batch sent in parts, and impact.com
    reporting ERRORS errors over them, half with a Line, half with only an OrderId."""
    from functools import partial

    from retrobatch.repository.ledger import write_receipt
    from retrobatch.repository.receipts import EmailPart, Processing, Receipt
    from retrobatch.send.batching import split_batch
    from retrobatch.send.message import Envelope, encoded_size

    folder = repo / "submissions" / SUB
    envelope = Envelope("conversions@brand.example", "a1b2c3@inbound.example", ())
    split = split_batch(
        folder / "conversions.csv",
        "conversions.csv",
        SUB,
        "item-level",
        10_000_000,
        partial(encoded_size, envelope),
    )
    rng = random.Random(3)
    ids = [f"A-{n}" for n in rng.sample(range(10**9, 10**10), 50)]  # never placed: scanned for
    emails, processing = [], []
    for part in split.parts:
        emails.append(EmailPart(part.attachment, "sent", part.sha256, part.rows, "<m@x>", "a@b"))
        errors = [
            {"line": rng.randrange(2, part.rows + 2), "reason": "CONV_DUPLICATE"}
            if k % 2
            else {"order_id": rng.choice(ids), "sku": "SKU-1", "reason": "CONV_DUPLICATE"}
            for k in range(ERRORS // len(split.parts))
        ]
        processing.append(
            Processing(part.attachment, "Complete", "2026-11-28T00:00:00Z", errors=errors)
        )
    write_receipt(folder, Receipt(SUB, "sent", emails=emails, processing=processing))


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
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=repo, check=True)
        write_receipt_with_errors(repo)
        cmds = {
            "csv.reader pass": cmds["csv.reader pass"],
            "status ID": retrobatch("status", SUB, "--repo", str(repo)),
        }
        third = best(cmds, args.repeat, tmp / "pycache")
    print(f"\n{args.rows:,} item-level rows")
    ok = True
    for times, name in ((first, "run --outbox"), (second, "diff"), (third, "status ID")):
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
