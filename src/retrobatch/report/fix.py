"""`retrobatch fix` as text: what changed, by kind, with a few examples; what could not be."""

from __future__ import annotations

from retrobatch.csvfile.fix import KINDS, Change, FixResult
from retrobatch.findings import plural
from retrobatch.report.text import render_findings


def lines(result: FixResult, *, dry_run: bool) -> list[str]:
    out = []
    if result.counts:
        # nothing is written when a problem stops the repair, whatever was found to change
        verb = "changed" if result.changed and not dry_run else "would change"
        out.append(f"{result.rel}: {verb}:")
        for kind, label in KINDS.items():
            n = result.counts.get(kind)
            if n:
                examples = "; ".join(_example(c) for c in result.examples.get(kind, []))
                out.append(f"  {label}: {n:,}" + (f" ({examples})" if examples else ""))
    else:
        out.append(f"{result.rel}: nothing to change")
    out += [f"  note: {remark}" for remark in result.remarks]
    if result.unfixed:
        listed = sum(1 for f in result.unfixed if f.code != "csv.truncated")
        total = listed + sum(result.hidden.values())
        out.append(f"not fixed ({plural(total, 'problem')}):")
        hidden = {(result.rel, code, column): n for (code, column, _), n in result.hidden.items()}
        out += ["  " + line for line in render_findings(result.unfixed, hidden)]
    return out


def _example(c: Change) -> str:
    if not c.before and not c.after:
        return f"line {c.line}"
    if not c.after:
        return f"line {c.line}: {c.before!r}" if c.before else f"line {c.line}"
    return f"line {c.line}: {c.before!r} -> {c.after!r}"
