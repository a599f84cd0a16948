"""`check --format json`: the contract's one JSON document."""

from __future__ import annotations

import json
from typing import Any

from ..checker import CheckReport
from ..findings import Finding, count


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
                "errors": count(sub.findings, "error"),
                "warnings": count(sub.findings, "warning"),
            }
            for sub in report.submissions
        ],
        "findings": [f.to_dict() for f in findings],
        "summary": {"errors": count(findings, "error"), "warnings": count(findings, "warning")},
    }


def render(report: CheckReport, extra: list[Finding] | None = None) -> str:
    return json.dumps(document(report, extra), indent=2, ensure_ascii=False) + "\n"
