"""What do years of history cost `check` and `status`? Targets: 5x no history, check <= 100 MB.

    python benchmarks/history.py [--submissions N] [--rows N] [--repeat N]

Builds two repositories in one run: one with N delivered item-level submissions of --rows rows
each (manifest, CSV and a receipt such as `retrobatch run` writes, all in one commit made with
`git fast-import`), and one without any. Both get the same new, uncommitted 1,000-row batch.
`check` and `status` (and, for information, `run --dry-run`) then run as fresh processes:
first once in the history repository as after a fresh clone (it builds the order index and
says so on stderr), then the best of --repeat rounds in both. Printed: seconds and peak RSS
(the child's own, from wait4) and the ratios. The issue's size is `--submissions 1000 --rows
5000` (5M rows); the default is a fifth of that, a few minutes. Exits 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVENT_TYPE = 12345
AS_OF = "2026-11-27"
HEADER = (
    "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CustomerId,CurrencyCode,ItemPrice,"
    "Category,Sku,Quantity\n"
)
SETTINGS = f"""version: 1
sender: conversions@brand.example
destinations:
  "{EVENT_TYPE}": {{name: Online Sale, address: a1b2c3@inbound.example}}
cc_allowed_domains: [brand.example]
"""
NEW_ID = "2026-11-27-new-batch"


def csv_text(rows: int, first_order: int, rng: random.Random) -> bytes:
    """Item-level rows, 1-5 lines per order, orders numbered from `first_order`."""
    end = dt.datetime(2026, 11, 27, 12, 0)
    out = [HEADER]
    written = 0
    oid = first_order
    while written < rows:
        when = (end - dt.timedelta(seconds=rng.randrange(80 * 86400))).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        prefix = f"1001,{EVENT_TYPE},{when},A-{oid},c{oid:x},cust{oid % 99991},USD,"
        for k in range(min(rng.randint(1, 5), rows - written)):
            out.append(f"{prefix}{rng.randint(100, 9999) / 100:.2f},cat-{k},SKU-{k},1\n")
            written += 1
        oid += 1
    return "".join(out).encode()


def manifest(sub_id: str) -> bytes:
    return (
        f"id: {sub_id}\ntemplate: item-level\nevent_type: {EVENT_TYPE}\nfile: conversions.csv\n"
        "description: history\nrequested_by: ana@brand.example\n"
    ).encode()


def receipt(sub_id: str, rows: int, when: str, figures: bool = True) -> bytes:
    """A receipt as `retrobatch run` writes one, figures included (unless an old one)."""
    return (
        f"submission: {sub_id}\nstate: sent\nsource_commit: '{'1a2b3c4d' * 5}'\nsent_at: '{when}'\n"
        f"sent_by: ana\nevent_type: {EVENT_TYPE}\nattempts: 1\n"
        + (
            f"figures:\n  rows: {rows}\n  orders: {rows // 3}\n  amounts:\n"
            f"    USD: '{rows * 50}.00'\n  first_event: '2026-09-01T00:00:00Z'\n"
            "  last_event: '2026-11-01T00:00:00Z'\n"
            if figures
            else ""
        )
        + f"emails:\n- attachment: {sub_id}.csv\n  state: sent\n  sha256: {'a' * 64}\n"
        f"  rows: {rows}\n  message_id: <{sub_id}@brand.example>\n  to: a1b2c3@inbound.example\n"
        f"  smtp_response: 250 ok\n  sent_at: '{when}'\n"
    ).encode()


def build_history(root: Path, submissions: int, rows: int, figures: bool = True) -> None:
    """All files in one commit through `git fast-import`, then checked out."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    rng = random.Random(11)
    feed = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=root, stdin=subprocess.PIPE)
    assert feed.stdin is not None
    start = dt.date(2024, 1, 1)
    out = feed.stdin
    mark = 0
    paths = []
    for n in range(-1, submissions):
        sub_id = f"{start + dt.timedelta(days=n // 2)}-batch-{n:04d}"
        folder = f"submissions/{sub_id}"
        files = [("retrobatch.yaml", SETTINGS.encode())]
        if n >= 0:
            files = [
                (f"{folder}/manifest.yaml", manifest(sub_id)),
                (f"{folder}/conversions.csv", csv_text(rows, 10**8 + n * rows, rng)),
                (f"{folder}/receipt.yaml", receipt(sub_id, rows, f"{start}T10:00:00Z", figures)),
            ]
        for path, data in files:
            mark += 1
            out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
            paths.append((path, mark))
    out.write(b"commit refs/heads/main\ncommitter bench <b@x> 1700000000 +0000\ndata 8\nhistory\n")
    for path, m in paths:
        out.write(f"M 100644 :{m} {path}\n".encode())
    out.write(b"\n")
    out.close()
    if feed.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=root, check=True)


def build_empty(root: Path) -> None:
    """A repository whose one commit holds the settings, as after `retrobatch init`."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    (root / "retrobatch.yaml").write_text(SETTINGS, encoding="utf-8")
    (root / "submissions").mkdir()
    git = ["git", "-c", "user.name=bench", "-c", "user.email=b@x"]
    subprocess.run([*git, "add", "retrobatch.yaml"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "settings"], cwd=root, check=True)


def add_new_batch(root: Path, rows: int) -> None:
    folder = root / "submissions" / NEW_ID
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_bytes(manifest(NEW_ID))
    (folder / "conversions.csv").write_bytes(csv_text(rows, 9 * 10**9, random.Random(5)))


def measure(cmd: list[str]) -> tuple[float, int, str]:
    """Seconds, peak RSS (MB) of this child alone (wait4) and its stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert child.stderr is not None
    errors = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"benchmark child failed ({code}): {' '.join(cmd)}\n{errors}")
    return elapsed, usage.ru_maxrss // 1024, errors


def command(name: str, repo: Path) -> list[str]:
    script = Path(sys.executable).with_name("retrobatch")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "retrobatch.cli"]
    extra = {"check": ["--as-of", AS_OF], "run": ["--dry-run"]}.get(name, [])
    return [*head, name, "--repo", str(repo), *extra]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000, help="rows per delivered submission")
    parser.add_argument("--batch", type=int, default=1000, help="rows of the new batch")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--old-receipts",
        action="store_true",
        help="receipts without figures, as before they held them: the first status measures "
        "every CSV once",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retrobatch-history-") as tmp:
        history, empty = Path(tmp) / "history", Path(tmp) / "empty"
        started = time.perf_counter()
        build_history(history, args.submissions, args.rows, not args.old_receipts)
        build_empty(empty)
        for root in (history, empty):
            add_new_batch(root, args.batch)
        total = args.submissions * args.rows
        print(
            f"history: {args.submissions:,} delivered submissions of {args.rows:,} rows "
            f"({total:,} rows), built in {time.perf_counter() - started:.0f} s; "
            f"new batch: {args.batch:,} rows"
        )
        first_check = measure(command("check", history))
        first_status = measure(command("status", history))
        for label, (seconds, peak, said) in (
            ("first check after a fresh clone", first_check),
            ("first status after it", first_status),
        ):
            print(f"{label:<32}: {seconds:6.2f} s  {peak:4d} MB")
            for line in said.splitlines():
                print(f"  stderr: {line}")
        runs: dict[tuple[str, str], list[tuple[float, int]]] = {}
        for _ in range(args.repeat + 1):  # the first round of the empty repository warms it
            for name in ("check", "status", "run"):
                for label, root in (("no history", empty), ("history", history)):
                    seconds, peak, _ = measure(command(name, root))
                    runs.setdefault((name, label), []).append((seconds, peak))
        best = {k: (min(t for t, _ in v[1:]), max(m for _, m in v[1:])) for k, v in runs.items()}
    ok = True
    for name in ("check", "status", "run"):
        base_t, base_m = best[(name, "no history")]
        hist_t, hist_m = best[(name, "history")]
        ratio = hist_t / base_t
        within = ratio <= 5.0 and (name != "check" or hist_m <= 100)
        if name == "run":  # `run --dry-run`: planning a send, for information
            print(
                f"run --dry-run: no history {base_t:5.2f} s {base_m:4d} MB | history "
                f"{hist_t:5.2f} s {hist_m:4d} MB | {ratio:4.1f}x (no target)"
            )
            continue
        ok = ok and within
        print(
            f"{name:<6}: no history {base_t:5.2f} s {base_m:4d} MB | history {hist_t:5.2f} s "
            f"{hist_m:4d} MB | {ratio:4.1f}x (target <= 5x"
            + (", <= 100 MB" if name == "check" else "")
            + f"): {'met' if within else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
