"""`retrobatch status` as text: a table of submissions, or one submission in detail.

The table fits a 100-column terminal (the columns a person scans); `--wide` and `status ID`
show every field.
"""

from __future__ import annotations

from retrobatch.findings import plural
from retrobatch.status import SubmissionStatus, format_amounts

WIDTH = 100


def _sent_at(s: SubmissionStatus) -> str:
    """When the batch was accepted by the server; nothing for one that never was."""
    r = s.receipt
    if r is None or not r.sent_at or not any(p.state == "sent" for p in r.emails):
        return "-"
    return r.sent_at


def _row(s: SubmissionStatus) -> list[str]:
    m, st = s.manifest, s.stats
    dates = f"{st.first_event} .. {st.last_event}" if st and st.first_event else "-"
    return [
        s.id,
        s.state,
        m.template if m else "?",
        str(m.event_type) if m else "?",
        f"{st.rows:,}" if st else "-",
        f"{st.orders:,}" if st else "-",
        format_amounts(st.amounts) if st else "-",
        dates,
        _sent_at(s),
        s.impact_status or "-",
    ]


def _narrow(s: SubmissionStatus) -> list[str]:
    st = s.stats
    dates = "-"
    if st and st.first_event and st.last_event:
        first, last = st.first_event[:10], st.last_event[:10]
        dates = (
            first if first == last else f"{first}..{last[5:] if first[:4] == last[:4] else last}"
        )
    return [
        s.id,
        s.state,
        f"{st.rows:,}" if st else "-",
        format_amounts(st.amounts) if st else "-",
        dates,
        s.impact_status or "-",
    ]


NARROW_HEADER = ["ID", "STATE", "ROWS", "AMOUNT", "EVENT DAYS", "IMPACT.COM"]


HEADER = [
    "ID",
    "STATE",
    "TEMPLATE",
    "EVENT TYPE",
    "ROWS",
    "ORDERS",
    "AMOUNT",
    "EVENT DATES",
    "SENT AT",
    "IMPACT.COM",
]


def table(statuses: list[SubmissionStatus], wide: bool = False) -> str:
    if not statuses:
        return "no submissions under submissions/"
    header, row = (HEADER, _row) if wide else (NARROW_HEADER, _narrow)
    rows = [header, *(row(s) for s in statuses)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    if not wide:  # long ids give way, so the table fits the terminal
        room = WIDTH - sum(widths[1:]) - 2 * (len(widths) - 1)
        widths[0] = max(min(widths[0], room), 16)
        rows = [[_cut(r[0], widths[0]), *r[1:]] for r in rows]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def details(s: SubmissionStatus) -> str:
    lines = [f"{label:<12} {value}" for label, value in zip(HEADER, _row(s), strict=True)]
    if s.manifest:
        lines.append(f"{'DESCRIPTION':<12} {s.manifest.description}")
        lines.append(f"{'REQUESTED BY':<12} {s.manifest.requested_by}")
        lines.append(f"{'TICKET':<12} {s.manifest.ticket or '-'}")
        lines.append(f"{'CC':<12} {', '.join(s.manifest.cc) or '-'}")
    lines += [f"{'PROBLEM':<12} {p}" for p in s.problems]
    if s.receipt:
        run = s.receipt.run
        if run is not None:
            until = f"ended {run.ended_at}" if run.ended_at else f"lease until {run.expires_at}"
            lines.append(f"{'RUN':<12} {run.where}, started {run.started_at}, {until}")
        for number, part in enumerate(s.receipt.emails, start=1):
            reply = part.smtp_response or part.error or ""
            lines.append(
                f"{'PART':<12} {part.attachment}: {part.state}, {plural(part.rows, 'row')} to "
                f"{part.to}" + (f" ({reply})" if reply else "")
            )
            lines.append(f"{'':<12} Message-ID {part.message_id}")
            if part.state == "sending":
                option = f" --part {number}" if len(s.receipt.emails) > 1 else ""
                lines.append(
                    f"{'IN DOUBT':<12} {part.message_id}: look for it in impact.com, then "
                    f"retrobatch resolve {s.receipt.submission}{option} --sent|--not-sent"
                )
            if part.note:
                lines.append(f"{'NOTE':<12} {part.note}")
        for proc in s.receipt.processing:
            counts = ""
            if proc.total_records is not None:
                counts = (
                    f", {plural(proc.total_records, 'record')}, "
                    f"{plural(proc.total_errors or 0, 'error')}"
                )
            lines.append(f"{'PROCESSING':<12} {proc.attachment}: {proc.status}{counts}")
            if proc.errors_by_reason:
                reasons = ", ".join(f"{r} {n:,}" for r, n in proc.errors_by_reason.items())
                lines.append(
                    f"{'':<12} the receipt keeps the first {len(proc.errors):,} errors; "
                    f"impact.com's File Submissions list them all; by reason: {reasons}"
                )
    return "\n".join(lines)
