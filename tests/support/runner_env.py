"""What the runner's tests build on: an SMTP handler that records or refuses, valid item-level
CSV dated relative to now, and repositories (origin, a clone to run in, someone else's clone).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import git
from aiosmtpd.smtp import SMTP, Envelope, Session

from support.times import utc_text

SMTP_USER = "apikey"
SMTP_PASSWORD = "s3cret-Pa55word-never-shown"
SENDER = "conversions@brand.example"
DESTINATION = "a1b2c3@inbound.example"
EVENT_TYPE = 12345
HEADER = (
    "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CustomerId,CurrencyCode,Amount,"
    "Category,Sku,Quantity"
)
SETTINGS_YAML = f"""\
version: 1
sender: {SENDER}
destinations:
  "{EVENT_TYPE}": {{name: Online Sale, address: {DESTINATION}}}
cc_allowed_domains: [brand.example]
committer: {{name: retrobatch-bot, email: bot@brand.example}}
"""


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mail_options: list[str] = field(default_factory=list)  # MAIL FROM's parameters (SIZE=...)


@dataclass
class Hold:
    """Stop at the `number`th MAIL, RCPT or DATA until released, and say so (`reached`). DATA
    stops once the message is queued, before the 250 goes out; with `after`, it does not stop
    and `reached` is set as the 250 goes out."""

    command: str
    number: int = 1
    after: bool = False
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: int = 0

    def matches(self, command: str) -> bool:
        if command != self.command:
            return False
        self.seen += 1
        return self.seen == self.number


@dataclass
class Handler:
    """Records what it accepts; `decide` may answer otherwise for a message (by content)."""

    received: list[Received] = field(default_factory=list)
    data_calls: int = 0
    decide: Callable[[bytes, int], str] | None = None  # (content, DATA call number) -> reply
    refuse_rcpt: set[str] = field(default_factory=set)
    hold: Hold | None = None

    async def _gate(self, command: str) -> None:
        hold = self.hold
        if hold is not None and not hold.after and hold.matches(command):
            hold.reached.set()
            await asyncio.get_running_loop().run_in_executor(None, hold.release.wait)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        await self._gate("MAIL")
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        await self._gate("RCPT")
        if address in self.refuse_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_calls += 1
        content = bytes(envelope.original_content or b"")
        reply = self.decide(content, self.data_calls) if self.decide else "250"
        got = Received(
            str(envelope.mail_from), list(envelope.rcpt_tos), content, list(envelope.mail_options)
        )
        if reply == "drop":
            self.received.append(got)
            assert server.transport is not None
            server.transport.abort()
            return "250 2.0.0 Ok: never heard"
        if reply.startswith("250"):
            self.received.append(got)  # queued: held or not, the server has it now
            hold = self.hold
            if hold is not None and hold.after and hold.matches("DATA"):
                asyncio.get_running_loop().call_soon(hold.reached.set)
            await self._gate("DATA")  # a reply the client may never see
            return f"250 2.0.0 Ok: queued as Q{len(self.received)}"
        return reply


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: Handler
    ca_file: Path
    logins: list[str]

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def env(self, **extra: str) -> dict[str, str]:
        return smtp_env(self.host, self.port, SMTP_USER, SMTP_PASSWORD, self.ca_file, **extra)


def smtp_env(
    host: str, port: int, user: str, password: str, ca_file: Path, **extra: str
) -> dict[str, str]:
    """RETROBATCH_SMTP_* for a STARTTLS server with a login, as a workflow sets them."""
    return {
        "RETROBATCH_SMTP_HOST": host,
        "RETROBATCH_SMTP_PORT": str(port),
        "RETROBATCH_SMTP_SECURITY": "starttls",
        "RETROBATCH_SMTP_USER": user,
        "RETROBATCH_SMTP_PASSWORD": password,
        "RETROBATCH_SMTP_CAFILE": str(ca_file),
        **extra,
    }


def event_date(days_ago: float = 2) -> str:
    return utc_text(dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago))


def item_rows(orders: list[tuple[str, int]], *, days_ago: float = 2, pad: int = 0) -> list[str]:
    """Valid item-level lines: each order with its items, consecutive, one price per line."""
    lines = []
    for n, (order, items) in enumerate(orders):
        for i in range(items):
            sku = f"SKU-{i + 1}" + ("x" * pad)
            lines.append(
                f"1000,{EVENT_TYPE},{event_date(days_ago)},{order},clk-{n},cust-{n},USD,"
                f"{10 + i}.50,Shoes,{sku},1"
            )
    return lines


def write_submission(folder: Path, csv_bytes: bytes, *, cc: tuple[str, ...] = ()) -> Path:
    """An item-level submission folder (named by its id) with its manifest and CSV."""
    folder.mkdir(parents=True)
    cc_line = f"cc: [{', '.join(cc)}]\n" if cc else ""
    (folder / "manifest.yaml").write_text(
        f"id: {folder.name}\ntemplate: item-level\nevent_type: {EVENT_TYPE}\n"
        f"file: conversions.csv\ndescription: Orders lost in an outage\n"
        f"requested_by: ana@brand.example\n{cc_line}",
        encoding="utf-8",
    )
    (folder / "conversions.csv").write_bytes(csv_bytes)
    return folder


def item_csv(orders: list[tuple[str, int]], *, newline: str = "\n", pad: int = 0) -> bytes:
    return (newline.join([HEADER, *item_rows(orders, pad=pad)]) + newline).encode()


@dataclass
class Repos:
    """origin (bare), `work` (the clone runs happen in) and `other` (someone else's clone)."""

    origin: git.Repo
    work: git.Repo
    other: git.Repo

    @property
    def root(self) -> Path:
        return Path(str(self.work.working_tree_dir))

    def add_submission(
        self,
        sub_id: str,
        csv_bytes: bytes,
        *,
        cc: tuple[str, ...] = (),
        in_repo: git.Repo | None = None,
        push: bool = True,
    ) -> Path:
        """Write a submission as a merged pull request would leave it, commit (and push) it."""
        repo = in_repo or self.work
        folder = Path(str(repo.working_tree_dir)) / "submissions" / sub_id
        write_submission(folder, csv_bytes, cc=cc)
        repo.index.add([str(folder / "manifest.yaml"), str(folder / "conversions.csv")])
        repo.index.commit(f"Add {sub_id}")
        if push:
            repo.remote("origin").push("main").raise_if_error()
        return folder

    def origin_file(self, rel: str) -> str | None:
        try:
            blob = self.origin.commit("main").tree / rel
        except KeyError:
            return None
        return blob.data_stream.read().decode()
