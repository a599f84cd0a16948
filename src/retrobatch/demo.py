"""`retrobatch demo`: the whole flow on embedded defaults, in a temporary place, then gone.

It builds a submissions repository with a bare origin, sample batches dated relative to today
(date windows move), and an SMTP server on 127.0.0.1 inside this process, so a newcomer sees
check, run and status work without configuring anything.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import TextIO

import git
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

DEMO_SETTINGS = """\
version: 1
sender: conversions@brand.example
destinations:
  "12345": {name: Online Sale, address: online-sale@inbound.example}
cc_allowed_domains: [brand.example]
custom_reason_codes:
  "12345": [PRICE_MATCH]
committer: {name: retrobatch demo, email: retrobatch@brand.example}
"""


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: Message


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it was sent."""

    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 2.0.0 Ok: queued by the retrobatch demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def local_smtp() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on 127.0.0.1 for as long as the block runs."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _date(today: dt.date, days_ago: int, hour: int) -> str:
    moment = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(hour, 15))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + "-05:00"


def sample_submissions(today: dt.date) -> dict[str, dict[str, str]]:
    """Folder name -> file name -> text: one batch per common case, dated from `today`."""
    stamp = today.isoformat()
    item_rows = [
        "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CustomerId,CurrencyCode,"
        "ItemPrice,Category,Sku,Quantity"
    ]
    for n, (order, items) in enumerate({"W-1001": 2, "W-1002": 1, "W-1003": 3}.items()):
        for i in range(items):
            item_rows.append(
                f"4321,12345,{_date(today, 3, 9 + n)},{order},Qz8{n}x,cust-{8800 + n},USD,"
                f"{19.5 + 10 * i:.2f},Shoes,SKU-{100 + i},{1 + i}"
            )
    order_rows = [
        "CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,CustomerId,CurrencyCode,Amount"
    ]
    order_rows += [
        f"4321,12345,{_date(today, 5, 10 + n)},P-{2001 + n},{700100 + n},cust-{9100 + n},USD,"
        f"{49.9 + n:.2f}"
        for n in range(4)
    ]
    manifests = {
        f"{stamp}-checkout-outage": (
            "item-level",
            "Line items lost while the checkout pixel was down",
        ),
        f"{stamp}-partner-promo": ("order-level", "Orders placed with a partner promo code"),
    }
    csvs = {"item-level": item_rows, "order-level": order_rows}
    result = {}
    for folder, (template, description) in manifests.items():
        manifest = textwrap.dedent(f"""\
            id: {folder}
            template: {template}
            event_type: 12345
            file: conversions.csv
            description: {description}
            requested_by: ana@brand.example
            ticket: OPS-{len(result) + 101}
            """)
        result[folder] = {
            "manifest.yaml": manifest,
            "conversions.csv": "\n".join(csvs[template]) + "\n",
        }
    return result


@dataclass
class DemoRepo:
    origin: Path
    root: Path
    repo: git.Repo


PR_TEMPLATE = "item-level"
DEMO_ZONE = "America/New_York"
SID, TOKEN = "IRdemoAccount", "demo-token"  # the local stand-in's; never a real account


def pr_id(today: dt.date) -> str:
    return f"{today.isoformat()}-checkout-outage"


def excel_export(today: dt.date) -> bytes:
    """The checkout-outage lines as a spreadsheet exports them: a BOM, CRLF, `;`, header names
    as people type them, US dates without offset, `$1,234.50`, an order's lines apart, and a
    trailing row of empty cells."""
    header = "Campaign Id;Action Tracker Id;Event Date;Order Id;Click Id;Customer Id;Currency;"
    header += "Item Price;Category;SKU;Quantity"
    d = today - dt.timedelta(days=3)
    rows = [header]
    lines = [  # (order, hour, price, sku, quantity): W-1001's second line comes last
        ("W-1001", 9, "$19.50", "SKU-100", 1),
        ("W-1002", 10, "$1,249.00", "SKU-200", 1),
        ("W-1003", 11, "$29.50", "SKU-101", 2),
        ("W-1003", 11, "$39.50", "SKU-102", 3),
        ("W-1001", 9, "$29.50", "SKU-101", 2),
    ]
    for order, hour, price, sku, quantity in lines:
        when = f"{d.month}/{d.day}/{d.year} {hour}:15 AM"
        customer = 8800 + int(order[-1])
        rows.append(
            f'4321;12345;{when};{order};Qz8{order[-1]}x;cust-{customer};USD;"{price}";Shoes;'
            f"{sku};{quantity}"
        )
    rows.append(";;;;;;;;;;")
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8")


def build_repo(workdir: Path, today: dt.date) -> DemoRepo:
    """A bare origin and a clone of it holding settings and one batch merged earlier."""
    origin = workdir / "origin.git"
    git.Repo.init(origin, bare=True, initial_branch="main")
    root = workdir / "submissions-repo"
    repo = git.Repo.clone_from(str(origin), root)
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "Ana Analyst")
        cw.set_value("user", "email", "ana@brand.example")
    (root / "retrobatch.yaml").write_text(DEMO_SETTINGS, encoding="utf-8")
    for folder, files in sample_submissions(today).items():
        if folder == pr_id(today):
            continue  # this one arrives as a spreadsheet export, in a pull request
        target = root / "submissions" / folder
        target.mkdir(parents=True)
        for name, text in files.items():
            (target / name).write_text(text, encoding="utf-8")
    repo.git.add(A=True)
    repo.index.commit("Add a partner promo batch (merged pull request)")
    repo.git.push("origin", "HEAD:main")
    repo.git.branch("--set-upstream-to=origin/main")
    return DemoRepo(origin, root, repo)


@contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="retrobatch-demo-") as tmp:
        yield Path(tmp)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_demo(out: TextIO, cli: Callable[[list[str]], int], today: dt.date | None = None) -> int:
    """Play a week's work through the real CLI: a pull request holding a spreadsheet export,
    `fix`, a green check, merge, send, impact.com's report, and the error on its row."""
    from retrobatch.reconcile.standin import StandIn, serve

    today = today or dt.datetime.now(dt.UTC).date()
    sub = pr_id(today)

    def step(title: str, *args: str, expect: int = 0) -> int:
        out.write(f"\n$ retrobatch {' '.join(args)}\n")
        out.flush()
        try:
            status = cli([*args, "--repo", str(demo.root)])
        except SystemExit as exc:  # argparse refusing the arguments
            status = int(exc.code or 0)
        out.write(f"  ({title}: exit {status})\n")
        return 0 if status == expect else 1

    def git_step(*args: str) -> None:
        out.write(f"\n$ git {' '.join(args)}\n")
        shown = demo.repo.git.execute(["git", *args])
        if shown:
            out.write(textwrap.indent(str(shown), "  ") + "\n")

    standin = StandIn(SID, TOKEN)
    with workspace() as tmp, local_smtp() as (inbox, port), serve(standin) as api:
        demo = build_repo(tmp, today)
        out.write(f"Demo repository: {demo.root} (origin {demo.origin})\n")
        out.write(f"SMTP server: 127.0.0.1:{port}; impact.com stand-in: {api} (in this process)\n")
        env = {
            "RETROBATCH_SMTP_HOST": "127.0.0.1",
            "RETROBATCH_SMTP_PORT": str(port),
            "RETROBATCH_SMTP_SECURITY": "none",
            "IMPACT_ACCOUNT_SID": SID,
            "IMPACT_AUTH_TOKEN": TOKEN,
            "RETROBATCH_IMPACT_API": api,
            "NO_COLOR": "1",
        }
        with _environment(env):
            out.write("\nAna exports the lost lines from Excel and opens a pull request:\n")
            git_step("switch", "-c", "checkout-outage")
            failures = step("a submission folder", "new", sub, "--template", PR_TEMPLATE,
                            "--event-type", "12345")  # fmt: skip
            folder = demo.root / "submissions" / sub
            (folder / "conversions.csv").write_bytes(excel_export(today))
            manifest = folder / "manifest.yaml"
            text = manifest.read_text(encoding="utf-8")
            described = "description: Line items lost while the checkout pixel was down\n"
            manifest.write_text(
                "".join(described if line.startswith("description:") else line
                        for line in text.splitlines(keepends=True)),
                encoding="utf-8",
            )  # fmt: skip
            demo.repo.git.add(A=True)
            demo.repo.index.commit(f"Add {sub} (Excel export)")
            failures += step("the pull request check: annotations on the diff", "check",
                             "--format", "github", "--base", "main", expect=1)  # fmt: skip
            failures += step("one command repairs the export", "fix", f"submissions/{sub}",
                             "--timezone", DEMO_ZONE)  # fmt: skip
            git_step("diff", "--stat")
            demo.repo.git.add(A=True)
            demo.repo.index.commit(f"retrobatch fix {sub}")
            failures += step("the pull request check is green", "check", "--format", "github",
                             "--base", "main")  # fmt: skip
            out.write("\nA reviewer approves; the pull request is merged:\n")
            git_step("switch", "main")
            git_step("merge", "--ff-only", "checkout-outage")
            demo.repo.git.push("origin", "HEAD:main")
            failures += step("merge to main sends", "run")
            out.write("\nWhat the SMTP server received:\n")
            for received in inbox.messages:
                msg = received.message
                names = [p.get_filename() for p in msg.iter_attachments()]  # type: ignore[attr-defined]
                out.write(
                    f"  to {', '.join(received.recipients)} from {received.sender}: "
                    f"subject {msg.get('Subject')!r}, attachments {names}\n"
                )
            standin.add(*_processed(demo.root, sub))
            failures += step("impact.com's report, an hour later", "reconcile")
            failures += step("where everything stands", "status")
            failures += step("the error, on its CSV row", "status", sub)
            before = len(inbox.messages)
            failures += step("a second run sends nothing", "run")
            if len(inbox.messages) != before:
                out.write("  unexpected: the second run sent again\n")
                failures += 1
            log = demo.repo.git.log("--format=%h %an: %s", "origin/main")
            out.write(f"\nAudit trail (git log origin/main):\n{textwrap.indent(log, '  ')}\n")
    out.write("\nDemo finished; its temporary folder is removed.\n")
    return 0 if failures == 0 else 1


def _processed(root: Path, pr: str) -> list[object]:
    """What impact.com lists for each sent part: processed a few minutes after sending, with
    one error on the pull request's batch (an order the pixel had recorded after all)."""
    from retrobatch.reconcile.standin import StandInFile
    from retrobatch.repository.receipts import load_receipt, parse_timestamp

    files = []
    for receipt_path in sorted((root / "submissions").glob("*/receipt.yaml")):
        receipt, _ = load_receipt(receipt_path.parent, root)
        if receipt is None:
            continue
        for n, part in enumerate(receipt.emails):
            sent = parse_timestamp(part.sent_at or receipt.sent_at or "")
            submitted = sent + dt.timedelta(minutes=4)
            errors = []
            if receipt.submission == pr:
                errors = [{"Line": "6", "CampaignId": "4321", "ActionTrackerId": "12345",
                           "OrderId": "W-1003", "Sku": "SKU-102", "Status": "Validation",
                           "Reason": "CONV_DUPLICATE"}]  # fmt: skip
            files.append(
                StandInFile(
                    batch_id=f"F-demo-{len(files) + 1}-{n}",
                    file_name=part.attachment,
                    submitted=submitted.isoformat(),
                    total_records=part.rows,
                    errors=errors,
                    completed=(submitted + dt.timedelta(minutes=6)).isoformat(),
                )
            )
    return files
