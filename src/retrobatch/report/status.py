"""`retrobatch status` as text: a table of submissions, or one submission in detail."""

from __future__ import annotations

from ..status import SubmissionStatus, format_amounts


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
        (s.receipt.sent_at if s.receipt and s.receipt.sent_at else "-"),
        s.impact_status or "-",
    ]


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


def table(statuses: list[SubmissionStatus]) -> str:
    if not statuses:
        return "no submissions under submissions/"
    rows = [HEADER, *(_row(s) for s in statuses)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def details(s: SubmissionStatus) -> str:
    lines = [f"{label:<12} {value}" for label, value in zip(HEADER, _row(s), strict=True)]
    if s.manifest:
        lines.append(f"{'DESCRIPTION':<12} {s.manifest.description}")
        lines.append(f"{'REQUESTED BY':<12} {s.manifest.requested_by}")
    lines += [f"{'PROBLEM':<12} {p}" for p in s.problems]
    if s.receipt:
        run = s.receipt.run
        if run is not None:
            until = f"ended {run.ended_at}" if run.ended_at else f"lease until {run.expires_at}"
            lines.append(f"{'RUN':<12} {run.where}, started {run.started_at}, {until}")
        for number, part in enumerate(s.receipt.emails, start=1):
            reply = part.smtp_response or part.error or ""
            lines.append(
                f"{'PART':<12} {part.attachment}: {part.state}, {part.rows:,} rows to {part.to}"
                + (f" ({reply})" if reply else "")
            )
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
                counts = f", {proc.total_records:,} records, {proc.total_errors or 0:,} errors"
            lines.append(f"{'PROCESSING':<12} {proc.attachment}: {proc.status}{counts}")
    return "\n".join(lines)
