"""`retrobatch reconcile` as text: what impact.com reported that is new, one line per part."""

from __future__ import annotations

from ..reconcile import ReconcileResult


def lines(result: ReconcileResult) -> list[str]:
    out: list[str] = []
    for change in result.changed:
        for entry in change.parts:
            if entry.status == "unmatched":
                detail = f"no file found: searched {entry.searched}"
            else:
                errors = entry.total_errors if entry.total_errors is not None else "?"
                detail = f"{entry.batch_id} {entry.status}, {errors} errors"
            out.append(f"{change.folder.id}: {entry.attachment}: {detail}")
        if change.receipt.state != change.before:
            out.append(f"{change.folder.id}: {change.before} -> {change.receipt.state}")
    out += [f"warning: {why}" for why in result.skipped]
    if not result.changed:
        out.append(f"nothing new from impact.com ({result.asked} parts asked about)")
    return out


def commit_message(result: ReconcileResult) -> str:
    ids = ", ".join(c.folder.id for c in result.changed)
    body = "\n".join(lines(result))
    return f"reconcile: impact.com processing for {ids}\n\n{body}\n"
