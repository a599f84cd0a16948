"""`check --format text`: one line per finding, grouped by file, for people at a terminal.

Many findings of one code in one column become one line with the count, the first lines and
the one fix (`findings.grouped`); the JSON output keeps every finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby

from retrobatch.check.result import CheckReport
from retrobatch.findings import Finding, FindingGroup, grouped, plural

RED, YELLOW, BOLD, RESET = "\033[31m", "\033[33m", "\033[1m", "\033[0m"


def finding_line(f: Finding | FindingGroup, colour: bool = False) -> str:
    """`path:line: column: message [code]`; warnings say so, since both share one list; a hint
    goes on the next line."""
    first = f.first if isinstance(f, FindingGroup) else f
    place = f"{first.path}:{first.line}" if first.line else first.path
    column = f" {first.column}:" if first.column else ""
    kind = "warning: " if first.severity == "warning" else ""
    code = f"[{first.code}]"
    if colour:
        tint = YELLOW if first.severity == "warning" else RED
        code = f"{tint}{code}{RESET}"
        place = f"{BOLD}{place}{RESET}"
    line = f"{place}:{column} {kind}{f.message} {code}"
    return f"{line}\n    fix: {f.hint}" if f.hint else line


def render(report: CheckReport, extra: list[Finding] | None = None, colour: bool = False) -> str:
    findings = [*(extra or []), *report.findings]
    lines: list[str] = []
    ordered = sorted(findings, key=lambda f: (f.path, f.line or 0))
    for _path, group in groupby(ordered, key=lambda f: f.path):
        lines.extend(finding_line(f, colour) for f in grouped(group, report.hidden))
        lines.append("")
    lines.append(summary_line(report, findings))
    return "\n".join(lines) + "\n"


def render_findings(findings: list[Finding], hidden: Mapping | None = None) -> list[str]:
    """Lines for findings outside a check report (`fix` lists what it could not repair)."""
    return [finding_line(f) for f in grouped(findings, hidden)]


def summary_line(report: CheckReport, findings: list[Finding]) -> str:
    listed_errors = sum(1 for f in findings if f.severity == "error")
    errors = listed_errors + report.hidden_count("error")
    warnings = len(findings) - listed_errors + report.hidden_count("warning")
    checked = f"{plural(len(report.submissions), 'submission')} checked"
    if not findings:
        return f"{checked}: no problems"
    return f"{checked}: {plural(errors, 'error')}, {plural(warnings, 'warning')}"
