"""Problems found in user data, as values, and the catalogue of their codes.

Every check returns findings instead of raising, so one bad file never hides the next one and
every report format (text, JSON, GitHub) renders the same list. The catalogue is the one source
of what a code means: its severity, whose rule it is (impact.com's, with the page that says so,
or retrobatch's policy, with the reason), and how to fix it. `docs/findings.md` and `retrobatch
explain CODE` are rendered from it; codes are never reused for another meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

Severity = Literal["error", "warning"]
Owner = Literal["impact.com", "retrobatch", "impact.com and retrobatch"]

# impact.com's pages, named once (docs/README.md lists them with their addresses).
BATCH_PAGE = "impact.com help: Submit Conversion Data Retroactively"
FTP_PAGE = "impact.com integrations: ftp-implementation"
DATA_PAGES = "impact.com integrations: order-level-data, item-level-data, attribution-data"
CHAINED_PAGE = "impact.com integrations: chained-actions"
MODS_PAGE = (
    "impact.com help: batch modifications and reversals (articles 155000001483, 48001236008)"
)
EVENT_TYPE_PAGE = "impact.com integrations: event-type-data"


class Entry(NamedTuple):
    """What one code means. `source` names impact.com's page when impact.com owns the rule,
    else the reason for retrobatch's policy (and, for a policy that is an error, the harm)."""

    severity: Severity
    when: str
    owner: Owner
    source: str
    fix: str


def _r(severity: Severity, when: str, source: str, fix: str) -> Entry:
    return Entry(severity, when, "retrobatch", source, fix)


def _i(severity: Severity, when: str, source: str, fix: str) -> Entry:
    return Entry(severity, when, "impact.com", source, fix)


_EDIT_SETTINGS = "correct retrobatch.yaml as the message says (docs/README.md, settings)"

CATALOGUE: dict[str, Entry] = {
    "config.syntax": _r(
        "error",
        "retrobatch.yaml missing or unreadable",
        "every address a batch goes to comes from this file: nothing runs without it",
        "create or repair retrobatch.yaml (retrobatch init writes one)",
    ),
    "config.schema": _r(
        "error",
        "retrobatch.yaml violates its schema",
        "an unknown key or a wrong value could send a batch to the wrong address",
        _EDIT_SETTINGS,
    ),
    "manifest.syntax": _r(
        "error",
        "manifest is not valid YAML",
        "the manifest says what to send and where: it must be read exactly",
        "repair the YAML at the line given",
    ),
    "manifest.duplicate-key": _r(
        "error",
        "a key appears twice in a mapping",
        "YAML keeps only one of the two values silently; a reviewer may read the other",
        "keep one of the two keys",
    ),
    "manifest.schema": _r(
        "error",
        "manifest violates manifest.schema.json",
        "a manifest with unknown or missing fields is ambiguous about what to send",
        "fix the field the message names",
    ),
    "manifest.id-mismatch": _r(
        "error",
        "id differs from the folder name",
        "receipts and attachments are named after the id; two names for one batch confuse both",
        "make id equal to the folder's name",
    ),
    "manifest.file-missing": _r(
        "error",
        "the named file does not exist",
        "there is nothing to send",
        "add the CSV, or correct `file:`",
    ),
    "manifest.file-outside": _r(
        "error",
        "the file path leaves the folder, or is a link",
        "what is sent must be what was reviewed in the submission's own folder",
        "put the CSV inside the submission folder as a regular file",
    ),
    "manifest.unknown-event-type": _r(
        "error",
        "event_type is not in destinations",
        "each Event Type has its own address, taken only from retrobatch.yaml",
        "use an event type of retrobatch.yaml, or add its destination there (reviewed)",
    ),
    "manifest.cc-domain": _r(
        "error",
        "a cc address outside cc_allowed_domains",
        "conversion data must not leave the brand's domains",
        "drop the address, or add its domain to cc_allowed_domains",
    ),
    "csv.not-csv": Entry(
        "error",
        "the file name does not end in .csv",
        "impact.com and retrobatch",
        f"{BATCH_PAGE}: conversions are .csv files; modifications may also be XML, which "
        "retrobatch does not check",
        "export the batch as CSV and name it *.csv",
    ),
    "csv.encoding": _r(
        "error",
        "not UTF-8",
        "impact.com documents no encoding; retrobatch reads and sends UTF-8 so that the file, "
        "its review and its sha256 agree. An error because the checker cannot read the rest. "
        "No encoding is guessed: the hint shows the line as Windows-1252 (what Excel's 'CSV "
        "(Comma delimited)' writes on Windows) reads it",
        "save the file as UTF-8 (in a spreadsheet: CSV UTF-8), or state the encoding it was "
        "saved in: retrobatch fix --encoding cp1252 PATH (any encoding Python knows)",
    ),
    "csv.bom": _r(
        "warning",
        "starts with a UTF-8 byte order mark",
        "harmless to retrobatch; whether impact.com strips it from the first header is "
        "undocumented",
        "save as UTF-8 without BOM",
    ),
    "csv.empty": _i(
        "error",
        "no header, or no data rows",
        f"{BATCH_PAGE}: a header row, data from row 2",
        "add the header and at least one row",
    ),
    "csv.missing-column": _i(
        "error",
        "a required column is absent",
        f"{DATA_PAGES}; {MODS_PAGE}: the required columns of each template",
        "add the column (retrobatch columns TEMPLATE lists them)",
    ),
    "csv.duplicate-column": _i(
        "error",
        "a header name appears twice (case-insensitively, aliases included)",
        f"{FTP_PAGE}: headers match in any case and aliases name the same column, so "
        "impact.com would read only one of the two",
        "keep one of the two columns",
    ),
    "csv.unknown-column": _r(
        "warning",
        "a column the template does not know; suggests the nearest name",
        "impact.com allows extra columns, so only a warning; a misspelt known column "
        "(OderId) is silently ignored by impact.com",
        "rename it as suggested, or leave it if it is meant as an extra column",
    ),
    "csv.row-length": _i(
        "error",
        "a record with more or fewer fields than the header",
        f"{BATCH_PAGE}: a comma-separated file whose rows follow the header",
        "quote values that hold commas; give every row all its fields",
    ),
    "csv.blank-line": _r(
        "warning",
        "an empty line, skipped",
        "harmless: retrobatch drops blank lines when it splits a batch",
        "remove the empty line",
    ),
    "csv.required": _i(
        "error",
        "a required value is empty",
        f"{DATA_PAGES}; {MODS_PAGE}: the values each row needs",
        "fill in the value",
    ),
    "csv.type": _i(
        "error",
        "not an integer / decimal / currency code / action id as the column needs",
        f"{DATA_PAGES}; {MODS_PAGE}: each column's format (impact.com answers MALFORMED)",
        "write the value in the column's format (retrobatch columns TEMPLATE)",
    ),
    "csv.too-long": _i(
        "error",
        "longer than the column's maximum length",
        f"{DATA_PAGES}; {EVENT_TYPE_PAGE}: each column's size",
        "shorten the value",
    ),
    "csv.bad-date": Entry(
        "error",
        "EventDate not an ISO 8601 date-time with offset (also NOW, a date only, no offset)",
        "impact.com and retrobatch",
        f"{DATA_PAGES}: EventDate is ISO 8601. retrobatch policy: NOW, a date without time and "
        "a time without offset are rejected although impact.com may take them. The harm: NOW "
        "stamps the processing time, so a retroactive conversion gets the wrong date; without "
        "a time or an offset impact.com must guess the time zone (undocumented), which can move "
        "the conversion by up to a day, into another period or out of the 88-day window",
        "write when the conversion happened, e.g. 2026-11-20T10:00:00Z or "
        "2026-11-20T10:00:00-08:00",
    ),
    "csv.date-in-future": _r(
        "error",
        "EventDate after the as-of instant",
        "a retroactive batch reports conversions that happened; a future date is a wrong "
        "year, month or offset, and impact.com would record that wrong date",
        "correct the date (check the offset); with --as-of, check as of the right day",
    ),
    "csv.date-window": _i(
        "error",
        "older than 88 days without MediaId, or older than 398 days",
        f"{BATCH_PAGE}: conversions older than 88 days are not processed, up to 398 days only "
        "when attributed by MediaId. retrobatch counts the age at check time and again at "
        "send time",
        "send sooner, or attribute by MediaId (up to 398 days); older ones cannot be sent",
    ),
    "csv.no-attribution": _i(
        "error",
        "no attribution key in the row",
        "impact.com integrations: attribution-data, the-conversion-object (every conversion "
        "needs a key: ClickId, CustomerId, CustomProfileId, PromoCode, MediaId, UniqueUrl, "
        "CustomClickId, CallerId, GoogAId, AppleIfa, AppleIfv or AndroidId)",
        "fill in at least one attribution key",
    ),
    "csv.plain-email": Entry(
        "error",
        "a plain e-mail address in CustomerId or CustomerEmail",
        "impact.com and retrobatch",
        f"{DATA_PAGES}: CustomerId must not be a plain e-mail address. retrobatch policy for "
        "CustomerEmail: only a SHA-1 or SHA-256 digest, because git keeps every address "
        "committed forever",
        "use the brand's customer id, or the hex SHA-1/SHA-256 of the lower-cased address",
    ),
    "csv.price-conflict": _i(
        "error",
        "more than one of ItemPrice, ItemSubtotal, Amount on a line",
        "impact.com integrations: item-level-data (one price form per line, never together)",
        "keep one price column per line",
    ),
    "csv.item-incomplete": _i(
        "error",
        "item-level line without Sku, Category, Quantity or price",
        "impact.com integrations: item-level-data (impact.com answers NO_ITEM)",
        "fill in Sku, Category, Quantity and one of ItemPrice, ItemSubtotal, Amount",
    ),
    "csv.order-not-contiguous": _i(
        "error",
        "lines of one OrderId not consecutive (item-level)",
        f"{BATCH_PAGE}: later lines of an order are rejected with OID_DUPLICATE",
        "sort the file by OrderId, keeping each order's lines together",
    ),
    "csv.duplicate-row": _i(
        "error",
        "the same order (order-level) or order+Sku (item-level) twice",
        f"{DATA_PAGES}: OrderId is unique per event type (OID_DUPLICATE, CONV_DUPLICATE)",
        "remove the repeated row, or merge the two lines",
    ),
    "csv.event-type-mismatch": _r(
        "error",
        "ActionTrackerId in a row differs from the manifest's event_type",
        "each Event Type has its own e-mail address; a row of another event type sent there "
        "is processed under the wrong one or rejected. (chained files may mix: "
        "csv.chained-event-type)",
        "make ActionTrackerId equal the manifest's event_type, or split the file",
    ),
    "csv.no-action-ref": _i(
        "error",
        "modification row without ActionId or OrderId+ActionTrackerId",
        f"{MODS_PAGE}: an action is named by ActionId or by OrderId with ActionTrackerId "
        "(ACTION_NOT_FOUND otherwise)",
        "fill in ActionId, or both OrderId and ActionTrackerId",
    ),
    "csv.reason": _i(
        "error",
        "Reason is not a default or configured custom code",
        f"{MODS_PAGE}; impact.com API reference: actions (default codes; custom ones are per "
        "event type and case-sensitive; BAD_DISPOSITION otherwise)",
        "use a default code (docs/formats.md) or add the custom code to custom_reason_codes",
    ),
    "csv.reversal-status": _i(
        "warning",
        "CustomerStatus given on a reversal (Amount 0)",
        f"{MODS_PAGE}: CustomerStatus is not for reversals; impact.com ignores it",
        "leave CustomerStatus empty on reversals",
    ),
    "csv.formula": _i(
        "error",
        "a cell that starts with =",
        "impact.com help: cells must hold plain values, never spreadsheet formulas",
        "export values, not formulas (paste as values)",
    ),
    "csv.order-too-large": _r(
        "error",
        "one order's lines alone exceed max_email_bytes",
        "a batch is split at order boundaries to fit max_email_bytes; an order larger than "
        "one message cannot be sent without splitting it, which impact.com would read as "
        "OID_DUPLICATE",
        "raise max_email_bytes if the mail server allows, or reduce the order's lines",
    ),
    "csv.truncated": _r(
        "warning",
        "more than 1,000 findings in one file: counts those not listed",
        "a report stays readable; the first findings usually show the pattern",
        "fix the findings listed and check again",
    ),
    "repo.sent-changed": _r(
        "error",
        "a change touches a delivered submission",
        "a delivered batch is history: what was sent must stay as committed",
        "revert the change; send a correction as a new modifications submission",
    ),
    "repo.duplicate-order": _i(
        "error",
        "an OrderId already delivered (or pending earlier) for the same event type",
        f"{DATA_PAGES}: OrderId is unique per event type (OID_DUPLICATE, CONV_DUPLICATE)",
        "drop the order, or change an existing action with a modifications submission",
    ),
    "repo.modification-limit": _i(
        "error",
        "an action would exceed 1,000 modifications across delivered submissions",
        f"{BATCH_PAGE}: at most 1,000 modifications per action",
        "combine changes: Amount is the new total, so one row can replace many",
    ),
    # extensions of the contract's catalogue, documented in README.md and docs/findings.md
    "csv.unclosed-quote": _i(
        "error",
        "a quoted field that never closes before the end of the file",
        f"{BATCH_PAGE}: a comma-separated file (the rest of the file would be one value)",
        "close the quote, or double a quote inside a quoted value",
    ),
    "csv.nul-byte": _i(
        "error",
        "a NUL byte: the file is binary, not CSV",
        f"{BATCH_PAGE}: a comma-separated text file",
        "export as CSV text (not a spreadsheet file renamed to .csv)",
    ),
    "csv.malformed": _i(
        "error",
        "a record the CSV grammar cannot parse: text after a closing quote, a lone CR",
        f"{BATCH_PAGE}: a comma-separated text file",
        "quote the whole value and double the quotes inside it",
    ),
    "csv.unreadable": _r(
        "error",
        "the file cannot be opened or read at all",
        "what cannot be read cannot be checked or sent",
        "check the file's permissions and that it is a regular file",
    ),
    "csv.customer-status": _r(
        "warning",
        "CustomerStatus neither New nor Existing",
        "impact.com takes any value of up to 40 characters that the account maps in its "
        "Customer Status Mapping (order-level-data), so only a warning: an unmapped value is "
        "usually a typo",
        "use New or Existing, or make sure the account maps this value",
    ),
    "csv.chained-event-type": _r(
        "warning",
        "a chained row whose ActionTrackerId is neither the manifest's event_type nor a "
        "destination in retrobatch.yaml",
        f"{CHAINED_PAGE}: a chained file may carry the parent's and the children's event "
        "types, so other event types are allowed; one the repository does not know is "
        "usually a typo",
        "check the id; add the event type to retrobatch.yaml if it is one of yours",
    ),
    "csv.item-reason": _r(
        "warning",
        "an item modification whose Reason is not ORDER_UPDATE",
        f"{MODS_PAGE}: impact.com's item updates use ORDER_UPDATE; other codes are accepted, "
        "so only a warning",
        "use ORDER_UPDATE unless another code is meant",
    ),
    "csv.line-ends": _i(
        "error",
        "lines end in a lone CR (the old Mac format): the file reads as one line",
        f"{BATCH_PAGE}: a comma-separated file with a header row and one row per line",
        "save as CSV UTF-8, or run retrobatch fix",
    ),
    "csv.excel-number": _r(
        "error",
        "an id that a spreadsheet turned into a number in scientific notation (1.23457E+11)",
        "the digits past the sixth are lost: the row would be attributed to no click or the "
        "wrong one",
        "format the column as text in the spreadsheet and export again (or import the .xlsx)",
    ),
    "manifest.missing": _r(
        "error",
        "a folder under submissions/ without manifest.yaml (only a CSV, or manifest.yml)",
        "such a folder is never sent, and nothing else would say so",
        "add manifest.yaml (retrobatch new or retrobatch import), or rename manifest.yml",
    ),
    "manifest.placeholder": _r(
        "error",
        "a description left as `retrobatch new` wrote it (TODO ...)",
        "reviewers and the audit trail need to know what the rows are and why they are late",
        "write what these rows are and why they are sent late",
    ),
    "config.placeholder": _r(
        "error",
        "a destination address left as `retrobatch init` wrote it (replace-me@...)",
        "the batch would be e-mailed to an address that is not the Event Type's",
        "write the Event Type's unique address from impact.com (Settings, Event Types, "
        "Returns Processing)",
    ),
    "receipt.invalid": _r(
        "error",
        "receipt.yaml unreadable or violates receipt.schema.json",
        "the submission is treated as delivered (never sent again) until a person repairs it: "
        "sending twice is worse than not sending",
        "repair receipt.yaml from git history; never edit it by hand otherwise",
    ),
    "repo.receipt-in-change": _r(
        "error",
        "a change adds or edits a receipt of a submission not delivered at the base",
        "only run, resolve and reconcile write receipts; a receipt added by hand would mark "
        "a batch as sent that never was",
        "remove the receipt from the pull request",
    ),
    "repo.special-file": _r(
        "error",
        "a symbolic link, FIFO, device or socket under submissions/ (a linked folder included)",
        "run writes receipts there with the push secrets loaded: a link would let a pull "
        "request read or overwrite files outside the folder, a FIFO would stall the run",
        "replace it with a regular file (or remove it)",
    ),
    "repo.unexpected-file": _r(
        "error",
        "a submission folder holds more than its manifest, its CSV, its receipt and a README",
        "a stray file or folder (receipt.yaml.tmp, say) would stand where run writes",
        "remove it from the folder",
    ),
    "csv.record-too-long": _r(
        "error",
        "a line longer than 16 MiB",
        "no e-mail could carry it (16 MiB is 21.3 MB base64-encoded, over common mail server "
        "limits), and reading it whole would take unbounded memory",
        "split the line into records; no cell may be that long",
    ),
    "csv.too-many-columns": _r(
        "error",
        "a header with more than 1,000 columns",
        "no impact.com template comes near it, and every column is checked in every block of "
        "rows, so a header of 100,000 columns would stall check for minutes",
        "keep the template's columns (retrobatch columns TEMPLATE) and drop the others",
    ),
    "config.reviewed-change": _r(
        "warning",
        "retrobatch.yaml adds, removes or redirects a destination, adds a cc domain or "
        "changes the sender",
        "where batches go is what the owners review: the old and the new value are shown",
        "have the owners of retrobatch.yaml confirm the change",
    ),
    "config.no-owner": _r(
        "warning",
        "retrobatch.yaml or .github/ has no real owner in CODEOWNERS",
        "GitHub ignores placeholder owners: nobody's review would be required to redirect "
        "batches or change what the workflows run",
        "name real teams or people in .github/CODEOWNERS and require code owner review",
    ),
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
    hint: str | None = None  # the fix for this very value, where it is known

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
    severity = CATALOGUE[code].severity
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
