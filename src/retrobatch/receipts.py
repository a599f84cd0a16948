"""`receipt.yaml`: the record of what was sent, committed so git history is the audit trail.

States (README.md, "The life of a batch"): a submission is *delivered* once a receipt says
`sending`, `sent`, `partial` or `processed`; delivered submissions are history and no part that
was accepted is ever sent again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from . import schemas
from .findings import Finding, finding
from .yamldoc import load_yaml

RECEIPT_FILE = "receipt.yaml"

State = Literal["sending", "sent", "partial", "failed", "processed"]
PartState = Literal["sending", "sent", "failed"]
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
    errors: list[dict[str, Any]] = field(default_factory=list)
    searched: str | None = None


@dataclass
class Resolution:
    decision: Literal["sent", "not-sent"]
    by: str
    at: str
    note: str | None = None


@dataclass
class Receipt:
    submission: str
    state: State
    source_commit: str | None = None
    sent_at: str | None = None
    sent_by: str | None = None
    event_type: int | None = None
    attempts: int = 0
    emails: list[EmailPart] = field(default_factory=list)  # after the summary, as people read it
    resolution: Resolution | None = None
    processing: list[Processing] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return self.state in DELIVERED

    def part(self, attachment: str) -> EmailPart | None:
        return next((p for p in self.emails if p.attachment == attachment), None)

    def derive_state(self) -> State:
        """The submission's state from its parts; `processed` is reconcile's to give."""
        states = {p.state for p in self.emails}
        if not states or states == {"failed"}:
            return "failed"
        if "sending" in states:
            return "sending"
        if states == {"sent"}:
            return "processed" if self.state == "processed" else "sent"
        return "partial"

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
    return yaml.safe_dump(receipt.to_dict(), sort_keys=False, allow_unicode=True, width=100)


def write_receipt(folder: Path, receipt: Receipt) -> Path:
    """Write atomically: a crash mid-write must never leave half a receipt."""
    path = folder / RECEIPT_FILE
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(dump_receipt(receipt), encoding="utf-8")
    tmp.replace(path)
    return path


def parse_receipt(text: str, rel: str) -> tuple[Receipt | None, list[Finding]]:
    doc = load_yaml(text)
    if doc.problems or not isinstance(doc.data, dict):
        why = doc.problems[0].message if doc.problems else "not a mapping"
        line = doc.problems[0].line if doc.problems else 1
        return None, [finding("receipt.invalid", rel, why, line)]
    data = _stringify_times(doc.data)
    errors = schemas.validate("receipt", data)
    if errors:
        return None, [
            finding("receipt.invalid", rel, e.message, doc.line_of(e.path)) for e in errors
        ]
    return _from_dict(data), []


def load_receipt(folder: Path, root: Path) -> tuple[Receipt | None, list[Finding]]:
    """The folder's receipt, None when there is none (or it is unreadable: see findings)."""
    path = folder / RECEIPT_FILE
    rel = path.relative_to(root).as_posix()
    try:
        text = path.read_text(encoding="utf-8")
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


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _from_dict(data: dict[str, Any]) -> Receipt:
    receipt = Receipt(**_known(Receipt, data))
    receipt.emails = [EmailPart(**_known(EmailPart, e)) for e in data.get("emails", [])]
    receipt.processing = [Processing(**_known(Processing, p)) for p in data.get("processing", [])]
    if data.get("resolution"):
        receipt.resolution = Resolution(**_known(Resolution, data["resolution"]))
    return receipt
