"""`receipt.yaml`: the record of what was sent, committed so git history is the audit trail.

States (README.md, "The life of a batch"): a submission is *delivered* once a receipt says
`sending`, `sent`, `partial` or `processed`; delivered submissions are history and no part that
was accepted is ever sent again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from retrobatch.findings import Finding, finding
from retrobatch.repository import schemas
from retrobatch.repository.yamldoc import load_yaml, read_capped

if TYPE_CHECKING:
    from retrobatch.csvfile.validate import CsvStats

RECEIPT_FILE = "receipt.yaml"

State = Literal["sending", "sent", "partial", "failed", "processed"]
# `pending`: not sent yet, waiting for its turn (a run sends parts one at a time); `sending`: the
# one part in flight, or one whose fate nobody knows (a person decides with `resolve`).
PartState = Literal["pending", "sending", "sent", "failed"]
DELIVERED: frozenset[str] = frozenset({"sending", "sent", "partial", "processed"})


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def timestamp(moment: dt.datetime | None = None) -> str:
    """The receipt's one time format: UTC, seconds, `Z`."""
    moment = moment or now_utc()
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Resolution:
    decision: Literal["sent", "not-sent"]
    by: str
    at: str
    note: str | None = None


@dataclass
class EmailPart:
    attachment: str
    state: PartState
    sha256: str
    rows: int
    message_id: str
    to: str
    cc: list[str] = field(default_factory=list)
    bytes: int | None = None
    smtp_response: str | None = None
    error: str | None = None
    sent_at: str | None = None
    resolution: Resolution | None = None  # a person's decision on this part, when it was in doubt
    note: str | None = None  # e.g. the server's 250 contradicting a person's resolution


@dataclass
class Lease:
    """Who holds a `sending` receipt: the run that may still be talking to the server.

    `resolve` refuses while it may be alive: before `expires_at` (the longest a run may send),
    unless it ended (`ended_at`) or, on the same host, its process is gone.
    """

    id: str
    started_at: str
    expires_at: str
    where: str  # the GitHub run's URL, else host:pid
    host: str | None = None
    pid: int | None = None
    ended_at: str | None = None


@dataclass
class Processing:
    attachment: str
    status: str
    checked_at: str
    batch_id: str | None = None
    type: str | None = None
    submitted_at: str | None = None
    completed_at: str | None = None
    total_records: int | None = None
    total_errors: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)  # at most KEPT_ERRORS
    # When impact.com reported more errors than are kept: every one counted by its reason.
    errors_by_reason: dict[str, int] | None = None
    searched: str | None = None


@dataclass
class Figures:
    """The batch as `status` shows it, recorded when it is sent: history is never read again
    for them. `amounts` maps a CurrencyCode ("" for none) to its total as decimal text."""

    rows: int
    orders: int
    amounts: dict[str, str] = field(default_factory=dict)
    first_event: str | None = None
    last_event: str | None = None


def figures_of(stats: CsvStats) -> Figures:
    return Figures(
        rows=stats.rows,
        orders=stats.orders,
        amounts={currency: f"{amount:.2f}" for currency, amount in stats.amounts.items()},
        first_event=stats.first_event,
        last_event=stats.last_event,
    )


def stats_of(figures: Figures) -> CsvStats:
    from retrobatch.csvfile.validate import CsvStats

    return CsvStats(
        rows=figures.rows,
        orders=figures.orders,
        amounts={currency: Decimal(text) for currency, text in figures.amounts.items()},
        first_event=figures.first_event,
        last_event=figures.last_event,
    )


@dataclass
class Receipt:
    submission: str
    state: State
    source_commit: str | None = None
    sent_at: str | None = None
    sent_by: str | None = None
    event_type: int | None = None
    attempts: int = 0
    figures: Figures | None = None
    emails: list[EmailPart] = field(default_factory=list)  # after the summary, as people read it
    resolution: Resolution | None = None  # the latest decision of a person
    processing: list[Processing] = field(default_factory=list)
    run: Lease | None = None  # the run that sent (or is sending) it

    @property
    def delivered(self) -> bool:
        return self.state in DELIVERED

    def part(self, attachment: str) -> EmailPart | None:
        return next((p for p in self.emails if p.attachment == attachment), None)

    def derive_state(self) -> State:
        """The submission's state from its parts; `processed` is reconcile's to give."""
        states = {p.state for p in self.emails}
        if "sending" in states:
            return "sending"
        if "sent" not in states:
            return "failed"  # nothing left: refused, or never tried (pending)
        if states == {"sent"}:
            return "processed" if self.state == "processed" else "sent"
        return "partial"

    def in_doubt(self) -> list[int]:
        """1-based numbers of the parts in state `sending`."""
        return [i for i, p in enumerate(self.emails, start=1) if p.state == "sending"]

    def to_dict(self) -> dict[str, Any]:
        return _prune(asdict(self))


def _prune(value: Any) -> Any:
    """Drop empty optional fields so receipts stay short and diffs stay readable."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def dump_receipt(receipt: Receipt) -> str:
    import yaml

    return yaml.safe_dump(receipt.to_dict(), sort_keys=False, allow_unicode=True, width=100)


def parse_receipt(text: str, rel: str) -> tuple[Receipt | None, list[Finding]]:
    receipt, problems, _ = parse_receipt_data(text, rel)
    return receipt, problems


def parse_receipt_data(
    text: str, rel: str
) -> tuple[Receipt | None, list[Finding], dict[str, Any] | None]:
    """Also the data that passed the schema, which `from_data` turns into the same receipt."""
    doc = load_yaml(text)
    if doc.problems or not isinstance(doc.data, dict):
        why = doc.problems[0].message if doc.problems else "not a mapping"
        line = doc.problems[0].line if doc.problems else 1
        return None, [finding("receipt.invalid", rel, why, line)], None
    data = _stringify_times(doc.data)
    errors = schemas.validate("receipt", data)
    if errors:
        found = [finding("receipt.invalid", rel, e.message, doc.line_of(e.path)) for e in errors]
        return None, found, None
    return _from_dict(data), [], data


def from_data(data: dict[str, Any]) -> Receipt:
    """A receipt from data that passed the schema before (a cache keyed by its bytes)."""
    return _from_dict(data)


def load_receipt(folder: Path, root: Path) -> tuple[Receipt | None, list[Finding]]:
    """The folder's receipt, None when there is none (or it is unreadable: see findings)."""
    path = folder / RECEIPT_FILE
    rel = path.relative_to(root).as_posix()
    try:
        text = read_capped(path, receipt=True).decode("utf-8")
    except FileNotFoundError:
        return None, []
    except (OSError, UnicodeDecodeError) as exc:
        return None, [finding("receipt.invalid", rel, f"cannot read: {exc}")]
    return parse_receipt(text, rel)


def _stringify_times(value: Any) -> Any:
    """YAML reads unquoted timestamps as datetimes; receipts keep them as `Z` strings."""
    if isinstance(value, dict):
        return {k: _stringify_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_times(v) for v in value]
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return timestamp(moment)
    return value


@cache
def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = _names(cls)
    return {k: v for k, v in data.items() if k in names}


def _from_dict(data: dict[str, Any]) -> Receipt:
    receipt = Receipt(**_known(Receipt, data))
    receipt.emails = [_part(e) for e in data.get("emails", [])]
    receipt.processing = [Processing(**_known(Processing, p)) for p in data.get("processing", [])]
    if data.get("figures"):
        receipt.figures = Figures(**_known(Figures, data["figures"]))
    if data.get("resolution"):
        receipt.resolution = Resolution(**_known(Resolution, data["resolution"]))
    if data.get("run"):
        receipt.run = Lease(**_known(Lease, data["run"]))
    return receipt


def _part(data: dict[str, Any]) -> EmailPart:
    part = EmailPart(**_known(EmailPart, data))
    if data.get("resolution"):
        part.resolution = Resolution(**_known(Resolution, data["resolution"]))
    return part
