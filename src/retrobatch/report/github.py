"""`check --format github`: annotations on the pull request, and a summary reviewers read
instead of the CSV. Both are formatted from what they are given (the check report, the settings,
the diff since the pull request's base); the command line computes those and writes the summary.

GitHub shows at most 10 annotations of each type per step, so the 10 that help most are chosen
(repository and manifest problems first, then one of each code before repeats) and a notice
counts the rest. The step summary counts every finding and lists as many as fit well under
GitHub's 1 MiB limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from retrobatch.check.result import CheckReport, SubmissionReport
from retrobatch.diffs import CsvDiff, DestinationChange, Diff, SubmissionDiff, describe
from retrobatch.findings import SEVERITIES, Finding, FindingGroup, Severity, count, grouped
from retrobatch.repository.settings import Settings
from retrobatch.status import format_amounts

MAX_PER_SEVERITY = 10  # GitHub displays no more per type and step
SUMMARY_BUDGET = 512 * 1024  # bytes; GitHub refuses a step summary over 1 MiB
MAX_FINDINGS_LISTED = 100  # per submission, before the budget even matters
MAX_ORDERS_LISTED = 50  # per kind of order change and submission
HEADERS_ALLOWANCE = 16 * 1024  # like csv.order-too-large: room for the e-mail's headers
_SCOPE_RANK = {"config": 0, "repo": 1, "receipt": 1, "manifest": 2}  # csv and others: 3
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#&!])")


def escape_data(text: str) -> str:
    """A workflow command's message: GitHub decodes these three, and a newline ends a command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: also `:` and `,`, which would end the value or the property list."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding | FindingGroup) -> str:
    """One workflow command; a group (many lines, one problem) is one annotation on its first
    line, and a known fix is part of the message."""
    head = _head(f)
    props = [f"file={escape_property(head.path)}"]
    if head.line is not None:
        props.append(f"line={head.line}")
    props.append(f"title={escape_property(head.code)}")
    message = f"{f.message}. Fix: {f.hint}" if f.hint else f.message
    return f"::{head.severity} {','.join(props)}::{escape_data(message)}"


def _head(f: Finding | FindingGroup) -> Finding:
    return f.first if isinstance(f, FindingGroup) else f


def most_useful(
    findings: Iterable[Finding | FindingGroup], limit: int = MAX_PER_SEVERITY
) -> list[Finding | FindingGroup]:
    """The `limit` findings a reviewer most needs inline: problems that stop every row (settings,
    repository, manifest) first, then one finding of each code before a second of any."""
    seen: dict[str, int] = {}
    ranked = []
    for position, f in enumerate(findings):
        code = _head(f).code
        repeat = seen.get(code, 0)
        seen[code] = repeat + 1
        ranked.append((_SCOPE_RANK.get(code.split(".")[0], 3), repeat, position, f))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked[:limit]]


def annotations(
    report: CheckReport, *, extra: list[Finding] | None = None, limit: int = MAX_PER_SEVERITY
) -> list[str]:
    """Workflow commands: at most `limit` per severity, then one notice counting the rest."""
    every = grouped([*(extra or []), *report.findings], report.hidden)
    lines: list[str] = []
    hidden: dict[Severity, int] = {}
    for severity in SEVERITIES:
        mine = [f for f in every if _head(f).severity == severity]
        shown = most_useful(mine, limit)
        lines += [annotation(f) for f in shown]
        hidden[severity] = len(mine) - len(shown)
    if any(hidden.values()):
        counted = " and ".join(_plural(n, s) for s, n in hidden.items() if n)
        lines.append(
            f"::notice title=retrobatch::{escape_data(counted)} more not shown as annotations "
            "(GitHub shows 10 per type): see the job summary, or run retrobatch check"
        )
    return lines


def render(report: CheckReport, *, extra: list[Finding] | None = None) -> str:
    """The workflow commands `check --format github` prints. `extra` holds findings outside the
    report: settings that failed to load, CODEOWNERS."""
    return "".join(line + "\n" for line in annotations(report, extra=extra))


@dataclass
class _Budget:
    """Stops adding sections once the summary nears the limit, and says how much was left out."""

    limit: int
    used: int = 0
    parts: list[str] = field(default_factory=list)
    omitted: int = 0

    def add(self, text: str) -> bool:
        size = len(text.encode("utf-8"))
        if self.used + size > self.limit:
            self.omitted += 1
            return False
        self.used += size
        self.parts.append(text)
        return True


def summary_markdown(
    report: CheckReport,
    settings: Settings | None,
    changes: Diff | None,
    *,
    extra: list[Finding] | None = None,
    budget: int = SUMMARY_BUDGET,
) -> str:
    """The step summary: destination changes first, then one section per submission."""
    every = [*(extra or []), *report.findings]
    out = _Budget(budget)
    out.add("## retrobatch check\n\n")
    if changes and changes.destinations:
        out.add(_destinations_section(changes.destinations))
    errors, warnings = count(every, "error"), count(every, "warning")
    verdict = "✅ no problems" if not every else f"❌ {_plural(errors, 'error')}"
    if every and not errors:
        verdict = "⚠️ no errors"
    out.add(
        f"**{verdict}**, {_plural(warnings, 'warning')} in "
        f"{_plural(len(report.submissions), 'submission')}.\n\n"
    )
    in_submissions = {id(f) for sub in report.submissions for f in sub.findings}
    loose = [f for f in every if id(f) not in in_submissions]
    if loose:
        out.add("### Repository\n\n" + _findings_table(loose) + "\n")
    by_id = {d.id: d for d in changes.submissions} if changes else {}
    for sub in report.submissions:
        section = _submission_section(sub, settings, by_id.get(sub.id), changes is not None)
        if not out.add(section):
            break
    checked = {sub.id for sub in report.submissions}
    for other in (d for d in (changes.submissions if changes else []) if d.id not in checked):
        out.add(_unchecked_section(other))
    if out.omitted:
        out.parts.append(
            f"\n_{out.omitted} more section(s) left out to stay under GitHub's summary limit: "
            "run `retrobatch check` locally for everything._\n"
        )
    return "".join(out.parts)


def _destinations_section(changes: list[DestinationChange]) -> str:
    lines = [
        "> [!WARNING]\n",
        "> **This change edits the destinations in `retrobatch.yaml`**: batches will be e-mailed "
        "to these addresses. Check each one against impact.com (Settings → Event Types).\n>\n",
    ]
    for c in changes:
        was = f"{_md(c.old.name)} `{_code(c.old.address)}`" if c.old else ""
        now = f"{_md(c.new.name)} `{_code(c.new.address)}`" if c.new else ""
        if c.kind == "added":
            lines.append(f"> - **added** {c.event_type}: {now}\n")
        elif c.kind == "removed":
            lines.append(f"> - **removed** {c.event_type}: {was}\n")
        else:
            lines.append(f"> - **changed** {c.event_type}: {was} → {now}\n")
    return "".join(lines) + "\n"


def _submission_section(
    sub: SubmissionReport,
    settings: Settings | None,
    changed: SubmissionDiff | None,
    with_diff: bool,
) -> str:
    errors, warnings = count(sub.findings, "error"), count(sub.findings, "warning")
    mark = "❌" if errors else "⚠️" if warnings else "✅"
    lines = [f"### {mark} `{_md(sub.id)}`\n\n", "| | |\n|---|---|\n"]
    manifest, stats = sub.manifest, sub.stats
    if manifest is not None:
        lines.append(f"| Destination | {_destination(settings, manifest.event_type)} |\n")
        lines.append(f"| Template | {manifest.template} |\n")
        lines.append(f"| Requested by | {_md(manifest.requested_by)} |\n")
    if stats is not None:
        lines.append(f"| Rows | {stats.rows:,} |\n| Orders | {stats.orders:,} |\n")
        lines.append(f"| Total | {_md(format_amounts(stats.amounts))} |\n")
        if stats.first_event:
            last = _md(stats.last_event or "")
            lines.append(f"| EventDate | {_md(stats.first_event)} → {last} |\n")
        lines.append(f"| Partners | {stats.partners:,} |\n")
    lines.append(f"| Findings | {_plural(errors, 'error')}, {_plural(warnings, 'warning')} |\n\n")
    lines.append(f"**On merge:** {_on_merge(sub, settings)}\n\n")
    if changed is not None and changed.status == "added":
        lines.append("New in this change: every order above is added.\n\n")
    elif changed is not None:
        lines.append(_changes_section(changed))
    elif with_diff:
        lines.append("No change to its orders.\n\n")
    if sub.findings:
        lines.append(_findings_table(sub.findings) + "\n")
    return "".join(lines)


def _unchecked_section(sub: SubmissionDiff) -> str:
    """A folder the change touched that check did not validate: removed, or delivered."""
    if sub.status == "removed":
        return f"### 🗑️ `{_md(sub.id)}`\n\nRemoved by this change: merging sends nothing for it.\n\n"
    body = _changes_section(sub) if sub.csv_path else ""
    return (
        f"### 🔒 `{_md(sub.id)}`\n\n**On merge:** nothing: it is delivered, and delivered "
        f"batches are history (send corrections as a new modifications submission).\n\n{body}"
    )


def _on_merge(sub: SubmissionReport, settings: Settings | None) -> str:
    """What `retrobatch run` will do with this submission once the pull request is merged."""
    receipt = sub.receipt
    if receipt is not None and receipt.state == "partial":
        return "the parts the server refused are sent again; accepted parts never are."
    if sub.delivered and receipt is not None:
        when = f" at {receipt.sent_at}" if receipt.sent_at else ""
        return f"nothing: it is already {receipt.state}{when}, and delivered batches are history."
    if count(sub.findings, "error"):
        return "nothing until the errors below are fixed: invalid submissions are never sent."
    if sub.manifest is None or sub.stats is None:
        return "nothing: the submission could not be read."
    again = " again (the last attempt failed)" if receipt is not None else ""
    where = _destination(settings, sub.manifest.event_type, with_address=False)
    text = f"will e-mail {sub.stats.rows:,} rows to {where}{again}"
    parts = _parts(sub, settings)
    return text + (f", split by order into about {parts} messages." if parts > 1 else ".")


def _parts(sub: SubmissionReport, settings: Settings | None) -> int:
    """An estimate of the messages the runner will send (it splits on the real encoded size)."""
    if settings is None or sub.csv_bytes is None:
        return 1
    encoded = sub.csv_bytes * 4 / 3 + HEADERS_ALLOWANCE
    return max(1, math.ceil(encoded / settings.max_email_bytes))


def _destination(settings: Settings | None, event_type: int, with_address: bool = True) -> str:
    found = settings.destination(event_type) if settings else None
    if found is None:
        return f"event type {event_type} (not in retrobatch.yaml)"
    text = f"{_md(found.name)} ({event_type})"
    return f"{text} → `{_code(found.address)}`" if with_address else text


def _changes_section(sub: SubmissionDiff) -> str:
    """Manifest fields, then orders: what a reviewer of a correction reads instead of lines."""
    fields = "".join(
        f"- manifest `{f.column}`: {_md(f.old or '(empty)')} → {_md(f.new or '(empty)')}\n"
        for f in sub.manifest
    )
    orders = f"{_md(sub.note)}.\n\n" if sub.note else _orders_section(sub.orders)
    return (fields + "\n" if fields else "") + orders


def _orders_section(orders: CsvDiff) -> str:
    if orders.empty:
        return "No change to its orders.\n\n"
    head = (
        f"**Changes by order:** {len(orders.added):,} added, {len(orders.removed):,} removed, "
        f"{len(orders.changed):,} changed\n\n"
    )
    body = []
    for title, items in (("Added", orders.added), ("Removed", orders.removed)):
        if items:
            listed = ", ".join(f"`{_code(o.order)}`" for o in items[:MAX_ORDERS_LISTED])
            more = _more(len(items))
            body.append(f"- {title}: {listed}{more}\n")
    if orders.changed:
        body.append("- Changed:\n")
        body += [
            f"  - `{_code(o.order)}` (line {o.line}): {_md(describe(o))}\n"
            for o in orders.changed[:MAX_ORDERS_LISTED]
        ]
        if len(orders.changed) > MAX_ORDERS_LISTED:
            body.append(f"  - {_more(len(orders.changed)).lstrip(', ')}\n")
    return f"{head}<details><summary>Orders</summary>\n\n{''.join(body)}\n</details>\n\n"


def _more(total: int) -> str:
    extra = total - MAX_ORDERS_LISTED
    return f", and {extra:,} more (run `retrobatch diff`)" if extra > 0 else ""


def _findings_table(findings: list[Finding]) -> str:
    rows = ["| | code | where | message |\n|---|---|---|---|\n"]
    items = grouped(findings)  # many rows with one problem: one table row with the count
    for item in items[:MAX_FINDINGS_LISTED]:
        f = _head(item)
        icon = "❌" if f.severity == "error" else "⚠️"
        where = f"{f.path}:{f.line}" if f.line else f.path
        cell = _code(where).replace("|", "\\|")  # GFM splits cells even inside code spans
        message = f"{item.message} (fix: {item.hint})" if item.hint else item.message
        rows.append(f"| {icon} | `{f.code}` | `{cell}` | {_md(message)} |\n")
    if len(items) > MAX_FINDINGS_LISTED:
        rest = len(items) - MAX_FINDINGS_LISTED
        rows.append(f"\n_and {rest:,} more: run `retrobatch check` locally._\n")
    return "".join(rows)


def _md(text: str) -> str:
    """Plain text inside Markdown (and table cells): no formatting, no HTML, one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def _code(text: str) -> str:
    """Text inside a code span, where backticks cannot be escaped."""
    return " ".join(text.splitlines()).replace("`", "'")


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
