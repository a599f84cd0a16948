"""Build small submissions repositories in code, so each test shows its own case."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import git

SETTINGS = """\
version: 1
sender: conversions@brand.example
destinations:
  "12345": {name: Online Sale, address: a1b2c3@inbound.example}
  67890: {name: App Install, address: d4e5f6@inbound.example, app: true}
cc_allowed_domains: [brand.example]
custom_reason_codes:
  "12345": [PRICE_MATCH]
committer: {name: retrobatch, email: retrobatch@brand.example}
"""

ITEM_HEADER = (
    "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CustomerId,CurrencyCode,"
    "ItemPrice,Category,Sku,Quantity"
)


def recent(days: int = 2) -> str:
    """Noon (UTC) `days` (at least 1) before today: inside impact.com's window, never in the
    future, and the same value however long a test takes (no second boundary between writes)."""
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=max(days, 1))
    return f"{day.isoformat()}T12:00:00Z"


def item_rows(*orders: str, event_type: int = 12345) -> str:
    """Item-level CSV text: two line items per order, consecutive."""
    lines = [ITEM_HEADER]
    for order in orders:
        for sku in ("SKU-1", "SKU-2"):
            lines.append(
                f"1000,{event_type},{recent()},{order},click-{order},cust-{order},USD,"
                f"19.99,Shoes,{sku},1"
            )
    return "\n".join(lines) + "\n"


def manifest_text(
    sub_id: str,
    template: str = "item-level",
    event_type: int = 12345,
    file: str = "conversions.csv",
    extra: str = "",
) -> str:
    return (
        textwrap.dedent(f"""\
        id: {sub_id}
        template: {template}
        event_type: {event_type}
        file: {file}
        description: Orders lost while the checkout pixel was down
        requested_by: ana@brand.example
        """)
        + extra
    )


class RepoFactory:
    """A git repository with settings, plus helpers to add submissions and commit."""

    def __init__(self, root: Path, settings: str = SETTINGS) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.repo = git.Repo.init(root, initial_branch="main")
        with self.repo.config_writer() as cw:
            cw.set_value("user", "name", "Test User")
            cw.set_value("user", "email", "test@brand.example")
        (root / "retrobatch.yaml").write_text(settings, encoding="utf-8")
        (root / "submissions").mkdir(exist_ok=True)

    def submission(
        self,
        sub_id: str,
        csv: str | bytes | None = None,
        *,
        manifest: str | None = None,
        template: str = "item-level",
        event_type: int = 12345,
        file: str = "conversions.csv",
    ) -> Path:
        folder = self.root / "submissions" / sub_id
        folder.mkdir(parents=True, exist_ok=True)
        text = (
            manifest if manifest is not None else manifest_text(sub_id, template, event_type, file)
        )
        (folder / "manifest.yaml").write_text(text, encoding="utf-8")
        if csv is not None:
            data = csv.encode("utf-8") if isinstance(csv, str) else csv
            (folder / file).write_bytes(data)
        return folder

    def receipt(self, sub_id: str, state: str = "sent") -> Path:
        path = self.root / "submissions" / sub_id / "receipt.yaml"
        path.write_text(
            f"submission: {sub_id}\nstate: {state}\nsent_at: '{recent(1)}'\nemails: []\n",
            encoding="utf-8",
        )
        return path

    def commit(self, message: str = "change") -> str:
        self.repo.git.add(A=True)
        self.repo.index.commit(message)
        return self.repo.head.commit.hexsha
