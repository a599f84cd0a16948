"""`retrobatch reconcile` as text: what impact.com reported that is new, one line per part."""

from __future__ import annotations

from retrobatch.findings import plural
from retrobatch.reconcile.matching import ReconcileResult
from retrobatch.reconcile.rows import MappedError


def lines(result: ReconcileResult) -> list[str]:
    out: list[str] = []
    for change in result.changed:
        for entry in change.parts:
            if entry.status == "unmatched":
                detail = f"no file found: searched {entry.searched}"
            else:
                errors = (
                    plural(entry.total_errors, "error")
                    if entry.total_errors is not None
                    else "? errors"
                )
                detail = f"{entry.batch_id} {entry.status}, {errors}"
                if entry.status == "Complete" and entry.total_records == 0:
                    detail += " (0 records: impact.com did not read the file as CSV)"
            out.append(f"{change.folder.id}: {entry.attachment}: {detail}")
        if change.receipt.state != change.before:
            out.append(f"{change.folder.id}: {change.before} -> {change.receipt.state}")
    out += [f"warning: {why}" for why in result.skipped]
    if not result.changed:
        out.append(f"nothing new from impact.com ({plural(result.asked, 'part')} asked about)")
    return out


def commit_message(result: ReconcileResult) -> str:
    ids = ", ".join(c.folder.id for c in result.changed)
    body = "\n".join(lines(result))
    return f"reconcile: impact.com processing for {ids}\n\n{body}\n"


def error_lines(mapped: list[MappedError]) -> list[str]:
    """impact.com's errors as `file:line:` lines, like check's findings, for `status ID`."""
    out: list[str] = []
    for m in mapped:
        where = m.csv_path or m.attachment
        if m.csv_line is not None:
            where += f":{m.csv_line}"
        order = f" OrderId {m.order_id}:" if m.order_id else ""
        sku = f" Sku {m.sku}:" if m.sku else ""
        why = f": {m.explanation}" if m.explanation else ""
        sent = f" [{m.attachment} line {m.line}]" if m.line is not None else ""
        note = f" ({m.note})" if m.note else ""
        out.append(f"{where}:{order}{sku} {m.reason or '?'} ({m.status}){why}{sent}{note}")
    return out


def error_guide(mapped: list[MappedError]) -> list[str]:
    """Once per code seen: what to do, and which finding of `check` now stops the cause."""
    counts: dict[str, int] = {}
    for m in mapped:
        counts[m.reason] = counts.get(m.reason, 0) + 1
    first = {m.reason: m for m in reversed(mapped)}
    out: list[str] = []
    for reason, n in counts.items():
        m = first[reason]
        rows = f"{n:,} row{'s' if n != 1 else ''}"
        if m.explanation is None:
            out.append(
                f"{reason or '?'} ({rows}): not in retrobatch's catalogue; kept as impact.com "
                "sent it (see impact.com's error codes reference)"
            )
            continue
        line = f"{reason} ({rows}): {m.fix}"
        if m.caught_by:
            line += f"; retrobatch check now catches this as {', '.join(m.caught_by)}"
        out.append(line + f" (retrobatch explain {reason})")
    return out
