"""`check --format json`: the contract's one JSON document: every listed finding (never grouped)
and the true totals, which count findings past a file's listing limit too."""

from __future__ import annotations

import json
from typing import Any

from retrobatch.check.result import CheckReport, SubmissionReport
from retrobatch.findings import Finding, count


def document(report: CheckReport, extra: list[Finding] | None = None) -> dict[str, Any]:
    findings = [*(extra or []), *report.findings]
    return {
        "version": 1,
        "submissions": [
            {
                "id": sub.id,
                "path": sub.folder.rel,
                "template": sub.manifest.template if sub.manifest else None,
                "rows": sub.stats.rows if sub.stats else None,
                "errors": count(sub.findings, "error") + _hidden(sub, "error"),
                "warnings": count(sub.findings, "warning") + _hidden(sub, "warning"),
            }
            for sub in report.submissions
        ],
        "findings": [f.to_dict() for f in findings],
        "summary": {
            "errors": count(findings, "error") + report.hidden_count("error"),
            "warnings": count(findings, "warning") + report.hidden_count("warning"),
        },
    }


def _hidden(sub: SubmissionReport, severity: str) -> int:
    """Findings past the file's listing limit: counted, not listed."""
    if sub.csv is None:
        return 0
    return sum(n for (_code, _col, sev), n in sub.csv.hidden.items() if sev == severity)


def render(report: CheckReport, extra: list[Finding] | None = None) -> str:
    return json.dumps(document(report, extra), indent=2, ensure_ascii=False) + "\n"
