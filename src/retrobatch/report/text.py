"""`check --format text`: one line per finding, grouped by file, for people at a terminal."""

from __future__ import annotations

from itertools import groupby

from ..checker import CheckReport
from ..findings import Finding

RED, YELLOW, BOLD, RESET = "\033[31m", "\033[33m", "\033[1m", "\033[0m"


def finding_line(f: Finding, colour: bool = False) -> str:
    """`path:line: column: message [code]`; warnings say so, since both share one list."""
    place = f"{f.path}:{f.line}" if f.line else f.path
    column = f" {f.column}:" if f.column else ""
    kind = "warning: " if f.severity == "warning" else ""
    code = f"[{f.code}]"
    if colour:
        tint = YELLOW if f.severity == "warning" else RED
        code = f"{tint}{code}{RESET}"
        place = f"{BOLD}{place}{RESET}"
    return f"{place}:{column} {kind}{f.message} {code}"


def render(report: CheckReport, extra: list[Finding] | None = None, colour: bool = False) -> str:
    findings = [*(extra or []), *report.findings]
    lines: list[str] = []
    ordered = sorted(findings, key=lambda f: (f.path, f.line or 0))
    for _path, group in groupby(ordered, key=lambda f: f.path):
        lines.extend(finding_line(f, colour) for f in group)
        lines.append("")
    lines.append(summary_line(report, findings))
    return "\n".join(lines) + "\n"


def summary_line(report: CheckReport, findings: list[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    n = len(report.submissions)
    checked = f"{n} submission{'s' if n != 1 else ''} checked"
    if not findings:
        return f"{checked}: no problems"
    return (
        f"{checked}: {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}"
    )
