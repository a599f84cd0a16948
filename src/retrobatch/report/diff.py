"""`retrobatch diff` as text: one line per order, `+` added, `-` removed, `~` changed."""

from __future__ import annotations

from retrobatch.diffs import DestinationChange, Diff, SubmissionDiff, describe


def text(d: Diff) -> str:
    head = f"commit {d.head[:12]}" if d.head else "the working tree"
    lines = [f"changes from {d.base[:12]} to {head}"]
    if d.destinations:
        lines += ["", "retrobatch.yaml destinations (where batches are e-mailed):"]
        lines += [f"  {_destination(c)}" for c in d.destinations]
    for sub in d.submissions:
        lines += ["", *_submission(sub)]
    if not d.destinations and not d.submissions:
        lines.append("no submission changed")
    return "\n".join(lines) + "\n"


def _destination(c: DestinationChange) -> str:
    was = f"{c.old.name} <{c.old.address}>" if c.old else ""
    now = f"{c.new.name} <{c.new.address}>" if c.new else ""
    if c.kind == "changed":
        return f"~ {c.event_type}: {was} -> {now}"
    return f"{'+' if c.kind == 'added' else '-'} {c.event_type}: {was or now}"


def _submission(sub: SubmissionDiff) -> list[str]:
    o = sub.orders
    counts = f"{len(o.added):,} added, {len(o.removed):,} removed, {len(o.changed):,} changed"
    lines = [f"{sub.folder} ({sub.status}): {counts} orders"]
    lines += [
        f"  manifest {f.column}: {f.old or '(empty)'} -> {f.new or '(empty)'}" for f in sub.manifest
    ]
    if sub.receipt_changed:
        lines.append("  receipt.yaml changed (only run, resolve and reconcile write receipts)")
    if sub.note:
        lines.append(f"  {sub.note}")
    lines += [f"  + {c.order} (line {c.line})" for c in o.added]
    lines += [f"  - {c.order} (line {c.line} before)" for c in o.removed]
    lines += [f"  ~ {c.order} (line {c.line}): {describe(c)}" for c in o.changed]
    return lines
