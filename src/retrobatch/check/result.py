"""What `check` found: per submission and in all. Plain data that the rules fill in and the
renderers in `report/` format, so neither needs the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from retrobatch.csvfile.validate import CsvResult, CsvStats
from retrobatch.findings import Finding, count
from retrobatch.repository.manifest import Manifest
from retrobatch.repository.receipts import Receipt
from retrobatch.repository.submissions import SubmissionFolder


@dataclass
class SubmissionReport:
    folder: SubmissionFolder
    manifest: Manifest | None = None
    csv_path: Path | None = None
    csv_bytes: int | None = None  # its size, for what renderers estimate from it
    receipt: Receipt | None = None
    csv: CsvResult | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.folder.id

    @property
    def delivered(self) -> bool:
        return self.receipt is not None and self.receipt.delivered

    @property
    def stats(self) -> CsvStats | None:
        return self.csv.stats if self.csv else None

    @property
    def csv_path_rel(self) -> str:
        if self.csv_path is None:
            return self.folder.rel
        return f"{self.folder.rel}/{self.csv_path.relative_to(self.folder.folder).as_posix()}"


@dataclass
class CheckReport:
    submissions: list[SubmissionReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # every finding, in report order

    @property
    def errors(self) -> int:
        return count(self.findings, "error") + self.hidden_count("error")

    @property
    def warnings(self) -> int:
        return count(self.findings, "warning") + self.hidden_count("warning")

    @property
    def hidden(self) -> dict[tuple[str, str, str | None], int]:
        """Findings past a file's listing limit, by (path, code, column)."""
        out: dict[tuple[str, str, str | None], int] = {}
        for sub in self.submissions:
            if sub.csv is not None:
                rel = sub.csv_path_rel
                for (code, column, _severity), n in sub.csv.hidden.items():
                    out[(rel, code, column)] = out.get((rel, code, column), 0) + n
        return out

    def hidden_count(self, severity: str) -> int:
        return sum(
            n
            for sub in self.submissions
            if sub.csv is not None
            for (_code, _column, sev), n in sub.csv.hidden.items()
            if sev == severity
        )
