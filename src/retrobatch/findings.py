"""Problems found in user data, as values.

Every check returns findings instead of raising, so one bad file never hides the next one and
every report format (text, JSON, GitHub) renders the same list. The catalogue is the contract:
codes are never reused for another meaning (../shared/contract.md, "Findings").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]

# code -> (severity, when). The first block is the contract's minimum catalogue; the codes after
# "extensions" are ours and are listed in the README.
CATALOGUE: dict[str, tuple[Severity, str]] = {
    "config.syntax": ("error", "retrobatch.yaml missing or unreadable"),
    "config.schema": ("error", "retrobatch.yaml violates its schema"),
    "manifest.syntax": ("error", "manifest is not valid YAML"),
    "manifest.duplicate-key": ("error", "a key appears twice in a mapping"),
    "manifest.schema": ("error", "manifest violates manifest.schema.json"),
    "manifest.id-mismatch": ("error", "id differs from the folder name"),
    "manifest.file-missing": ("error", "the named file does not exist"),
    "manifest.file-outside": ("error", "the file path leaves the folder, or is a link"),
    "manifest.unknown-event-type": ("error", "event_type is not in destinations"),
    "manifest.cc-domain": ("error", "a cc address outside cc_allowed_domains"),
    "csv.not-csv": ("error", "the file name does not end in .csv"),
    "csv.encoding": ("error", "not UTF-8"),
    "csv.bom": ("warning", "starts with a UTF-8 byte order mark"),
    "csv.empty": ("error", "no header, or no data rows"),
    "csv.missing-column": ("error", "a required column is absent"),
    "csv.duplicate-column": ("error", "a header name appears twice"),
    "csv.unknown-column": ("warning", "a column the template does not know"),
    "csv.row-length": ("error", "a record with more or fewer fields than the header"),
    "csv.blank-line": ("warning", "an empty line, skipped"),
    "csv.required": ("error", "a required value is empty"),
    "csv.type": ("error", "a value of the wrong type"),
    "csv.too-long": ("error", "longer than the column's maximum length"),
    "csv.bad-date": ("error", "EventDate not ISO 8601 with offset"),
    "csv.date-in-future": ("error", "EventDate after the as-of instant"),
    "csv.date-window": ("error", "EventDate outside impact.com's processing window"),
    "csv.no-attribution": ("error", "no attribution key in the row"),
    "csv.plain-email": ("error", "a plain e-mail address in CustomerId or CustomerEmail"),
    "csv.price-conflict": ("error", "more than one of ItemPrice, ItemSubtotal, Amount"),
    "csv.item-incomplete": ("error", "item-level line without Sku, Category, Quantity or price"),
    "csv.order-not-contiguous": ("error", "lines of one OrderId not consecutive"),
    "csv.duplicate-row": ("error", "the same order (or order and Sku) twice"),
    "csv.event-type-mismatch": ("error", "ActionTrackerId differs from the manifest's event_type"),
    "csv.no-action-ref": ("error", "modification row without ActionId or OrderId+ActionTrackerId"),
    "csv.reason": ("error", "Reason is not a default or configured custom code"),
    "csv.reversal-status": ("warning", "CustomerStatus given on a reversal"),
    "csv.formula": ("error", "a cell that starts with ="),
    "csv.order-too-large": ("error", "one order's lines alone exceed max_email_bytes"),
    "csv.truncated": ("warning", "more findings in one file than are listed"),
    "repo.sent-changed": ("error", "a change touches a delivered submission"),
    "repo.duplicate-order": ("error", "an OrderId already delivered or pending earlier"),
    "repo.modification-limit": ("error", "an action would exceed 1,000 modifications"),
    # extensions
    "csv.unclosed-quote": ("error", "a quoted field that never closes"),
    "csv.nul-byte": ("error", "a NUL byte: the file is binary, not CSV"),
    "csv.malformed": ("error", "a record csv cannot parse: text after a closing quote, a lone CR"),
    "csv.unreadable": ("error", "the file cannot be read at all"),
    "csv.excel-number": ("error", "an id a spreadsheet turned into a number (1.23457E+11)"),
    "manifest.missing": ("error", "a folder under submissions/ without manifest.yaml"),
    "manifest.placeholder": ("error", "a value left as `new` or `init` wrote it"),
    "config.placeholder": ("error", "a destination address left as `init` wrote it"),
    "receipt.invalid": ("error", "receipt.yaml unreadable or violates its schema"),
    "repo.receipt-in-change": ("error", "a change adds or edits a receipt, which only run writes"),
}

SEVERITIES: tuple[Severity, ...] = ("error", "warning")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place; `path` is relative to the repository root, `line` 1-based."""

    code: str
    severity: Severity
    path: str
    line: int | None
    column: str | None
    message: str
    hint: str | None = None  # the fix, where it is known

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def finding(
    code: str,
    path: str,
    message: str,
    line: int | None = None,
    column: str | None = None,
    *,
    hint: str | None = None,
) -> Finding:
    """Build a finding whose severity comes from the catalogue, so no caller can disagree."""
    severity, _ = CATALOGUE[code]
    return Finding(code, severity, path, line, column, message, hint)


def count(findings: Iterable[Finding], severity: Severity) -> int:
    return sum(1 for f in findings if f.severity == severity)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


GROUP_FROM = 4  # findings of one code in one column of one file: from this many, one line
SHOWN_LINES = 3
# The one fix for a whole group, where each finding's own hint names its value.
GROUP_HINTS = {
    "csv.bad-date": "run `retrobatch fix --timezone ZONE` (the zone the times were recorded in)",
    "csv.excel-number": "export the column as text from the spreadsheet",
}


@dataclass(frozen=True)
class FindingGroup:
    """Many findings of one code in one column of one file, shown as one line."""

    listed: tuple[Finding, ...]
    total: int  # the listed ones and those past the file's limit

    @property
    def first(self) -> Finding:
        return self.listed[0]

    @property
    def lines(self) -> str:
        shown = [str(f.line) for f in self.listed[:SHOWN_LINES]]
        more = ", …" if self.total > SHOWN_LINES else ""
        return f"lines {', '.join(shown)}{more}"

    @property
    def message(self) -> str:
        return f"{self.total:,} rows, e.g. {self.first.message} ({self.lines})"

    @property
    def hint(self) -> str | None:
        hints = {f.hint for f in self.listed}
        if len(hints) == 1:
            return hints.pop()
        return GROUP_HINTS.get(self.first.code, self.first.hint)


def grouped(
    findings: Iterable[Finding], hidden: Mapping[tuple[str, str, str | None], int] | None = None
) -> list[Finding | FindingGroup]:
    """Findings in their order, those of one (path, code, column) on GROUP_FROM or more lines
    merged into one group at the place of the first; `hidden` counts findings past a file's
    limit by (path, code, column), so a group's total is the true one."""
    findings = list(findings)
    keys: dict[tuple[str, str, str | None], list[Finding]] = {}
    for f in findings:
        if f.line is not None and f.column is not None:
            keys.setdefault((f.path, f.code, f.column), []).append(f)
    hidden = hidden or {}
    out: list[Finding | FindingGroup] = []
    for f in findings:
        key = (f.path, f.code, f.column)
        members = keys.get(key) if f.line is not None and f.column is not None else None
        total = len(members) + hidden.get(key, 0) if members else 0
        if not members or total < GROUP_FROM:
            out.append(f)
        elif members[0] is f:
            out.append(FindingGroup(tuple(members), total))
    return out


def plural(n: int, noun: str) -> str:
    """`1 row`, `2 rows`, `1,000 errors`."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
