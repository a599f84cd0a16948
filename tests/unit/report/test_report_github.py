"""`check --format github`'s renderer: annotations and the step summary, from a report, settings and
a diff built here (whole pull requests run in tests/acceptance/test_check_github.py)."""

from pathlib import Path

import pytest

from retrobatch.check.result import CheckReport, SubmissionReport
from retrobatch.csvfile.validate import CsvResult, CsvStats
from retrobatch.diffs import CsvDiff, Diff, FieldChange, OrderChange, SubmissionDiff
from retrobatch.findings import Finding, finding
from retrobatch.report import github
from retrobatch.repository.manifest import Manifest
from retrobatch.repository.receipts import Receipt
from retrobatch.repository.settings import parse_settings
from retrobatch.repository.submissions import SubmissionFolder
from support.repo_factory import SETTINGS

SENT = "2026-11-01-sent"
NEW = "2026-11-20-outage"


def csv_error(n: int, code: str = "csv.required") -> Finding:
    """A finding in a column of its own, so none are grouped."""
    return finding(code, f"submissions/{NEW}/conversions.csv", f"problem {n}", n + 1, f"C{n}")


def test_escaping_of_data_and_properties() -> None:
    f = Finding("csv.type", "error", "a,b:c%.csv", 7, None, "100% sure\r\nnext, line: x")
    assert github.annotation(f) == (
        "::error file=a%2Cb%3Ac%25.csv,line=7,title=csv.type::100%25 sure%0D%0Anext, line: x"
    )


def test_annotation_without_a_line() -> None:
    f = finding("csv.missing-column", "s/x.csv", "OrderId is required")
    assert (
        github.annotation(f) == "::error file=s/x.csv,title=csv.missing-column::OrderId is required"
    )
    g = finding("csv.bom", "s/x.csv", "byte order mark", 1, "OrderId")  # messages name columns
    assert github.annotation(g) == "::warning file=s/x.csv,line=1,title=csv.bom::byte order mark"


def test_ten_per_severity_most_useful_first_then_a_notice() -> None:
    findings = [csv_error(n) for n in range(20)]
    findings += [csv_error(30, "csv.bad-date"), csv_error(31, "csv.formula")]
    findings.append(finding("manifest.cc-domain", f"submissions/{NEW}/manifest.yaml", "cc", 8))
    findings += [finding("csv.blank-line", "s/x.csv", "blank", n) for n in range(13)]
    lines = github.annotations(CheckReport(findings=findings))
    errors = [line for line in lines if line.startswith("::error ")]
    warnings = [line for line in lines if line.startswith("::warning ")]
    notices = [line for line in lines if line.startswith("::notice ")]
    assert (len(errors), len(warnings), len(notices)) == (10, 10, 1)
    titles = [e.split("title=")[1].split("::")[0] for e in errors]
    assert titles[0] == "manifest.cc-domain"  # stops the whole submission: shown first
    assert titles[1:4] == ["csv.required", "csv.bad-date", "csv.formula"]  # one of each code
    assert notices[0].startswith("::notice title=retrobatch::13 errors and 3 warnings more")
    assert lines[-1] == notices[0]


def test_many_rows_with_one_problem_are_one_annotation_with_the_count_and_the_fix() -> None:
    path = f"submissions/{NEW}/conversions.csv"
    findings = [
        finding("csv.bad-date", path, f"EventDate '11/2{n}/2026 14:05' is not ISO", n, "EventDate",
                hint=f"2026-11-2{n}T14:05:00 with its offset")
        for n in range(2, 7)
    ]  # fmt: skip
    hidden = {(path, "csv.bad-date", "EventDate"): 4_995}
    report = CheckReport(findings=findings)
    lines = github.annotations(report)
    [line] = lines
    assert line.startswith(f"::error file={github.escape_property(path)},line=2,")
    assert "5 rows, e.g. EventDate '11/22/2026 14:05' is not ISO (lines 2, 3, 4, …)" in line
    assert "Fix: run `retrobatch fix --timezone ZONE`" in line
    from retrobatch.findings import grouped

    [group] = grouped(findings, hidden)
    assert group.total == 5_000  # type: ignore[union-attr]


def test_no_notice_when_everything_fits() -> None:
    lines = github.annotations(CheckReport(findings=[csv_error(1), csv_error(2)]))
    assert len(lines) == 2 and not any(line.startswith("::notice") for line in lines)


def test_summary_stays_under_the_budget_and_says_so(tmp_path: Path) -> None:
    report = CheckReport()
    for n in range(400):
        folder = SubmissionFolder(f"2026-11-20-s{n}", tmp_path, f"submissions/2026-11-20-s{n}")
        sub = SubmissionReport(folder, findings=[csv_error(i) for i in range(200)])
        report.submissions.append(sub)
        report.findings += sub.findings
    text = github.summary_markdown(report, None, None, budget=50_000)
    assert len(text.encode()) < 51_000
    assert "left out to stay under GitHub's summary limit" in text
    full = github.summary_markdown(report, None, None)
    assert len(full.encode()) <= github.SUMMARY_BUDGET + 1000 < 1024 * 1024
    assert "❌ 80,000 errors" in full
    assert "_and 100 more: run `retrobatch check` locally._" in full


def test_markdown_in_messages_is_neutralised() -> None:
    f = finding("csv.type", "s/x.csv", "value <script>|*bold*`x`", 2)
    text = github.summary_markdown(CheckReport(findings=[f]), None, None)
    assert r"value \<script\>\|\*bold\*\`x\`" in text


def test_settings_findings_come_first_and_reach_the_summary() -> None:
    broken = finding("config.schema", "retrobatch.yaml", "destinations: required key is missing", 2)
    report = CheckReport(findings=[csv_error(1)])
    out = github.render(report, extra=[broken])
    first = "::error file=retrobatch.yaml,line=2,title=config.schema::destinations: required key"
    assert out.splitlines()[0] == first + " is missing"  # `:` is escaped in properties only
    assert len(out.splitlines()) == 2 and out.endswith("\n")
    text = github.summary_markdown(report, None, None, extra=[broken])
    assert "| ❌ | `config.schema` | `retrobatch.yaml:2` |" in text
    assert text.index("`config.schema`") < text.index("`csv.required`")


@pytest.mark.parametrize(
    ("state", "error", "size", "expected"),
    [
        (None, False, 10, "will e-mail 10 rows to Online Sale (12345)."),
        ("failed", False, 10, "will e-mail 10 rows to Online Sale (12345) again (the last"),
        (None, True, 10, "nothing until the errors below are fixed"),
        (None, False, 9_000_000, "split by order into about 2 messages."),
        ("partial", False, 10, "the parts the server refused are sent again"),
    ],
)
def test_what_merging_will_do(
    tmp_path: Path, state: str | None, error: bool, size: int, expected: str
) -> None:
    settings, _ = parse_settings(SETTINGS)
    folder = SubmissionFolder(NEW, tmp_path, f"submissions/{NEW}")
    sub = SubmissionReport(
        folder,
        manifest=Manifest(NEW, "order-level", 12345, "conversions.csv", "d", "a@brand.example"),
        csv_path=tmp_path / "conversions.csv",  # never read: the size below is what counts
        csv_bytes=size,
        receipt=Receipt(NEW, state) if state else None,  # type: ignore[arg-type]
        csv=CsvResult([], CsvStats(rows=10, orders=10), {}, {}),
        findings=[csv_error(1)] if error else [],
    )
    text = github.summary_markdown(CheckReport(submissions=[sub]), settings, None)
    assert expected in text


def test_a_correction_shows_manifest_fields_and_changed_orders(tmp_path: Path) -> None:
    folder = SubmissionFolder(NEW, tmp_path, f"submissions/{NEW}")
    change = OrderChange("A-1", 2, (FieldChange("Amount", "10.00", "12.50"),))
    changes = Diff(
        "0" * 40,
        None,
        [
            SubmissionDiff(
                NEW,
                folder.rel,
                "modified",
                f"{folder.rel}/conversions.csv",
                CsvDiff(changed=[change]),
                [FieldChange("event_type", "12345", "67890")],
            )
        ],
    )
    report = CheckReport(submissions=[SubmissionReport(folder)])
    text = github.summary_markdown(report, None, changes)
    assert "- manifest `event_type`: 12345 → 67890" in text
    assert "**Changes by order:** 0 added, 0 removed, 1 changed" in text
    assert r"  - `A-1` (line 2): Amount: 10.00 -\> 12.50" in text


def test_orders_that_could_not_be_compared_are_said_not_called_unchanged(tmp_path: Path) -> None:
    folder = SubmissionFolder(NEW, tmp_path, f"submissions/{NEW}")
    note = "the new CSV is UTF-16: orders not compared (retrobatch check says more)"
    sub = SubmissionDiff(NEW, folder.rel, "modified", f"{folder.rel}/conversions.csv", note=note)
    changes = Diff("0" * 40, None, [sub])
    text = github.summary_markdown(
        CheckReport(submissions=[SubmissionReport(folder)]), None, changes
    )
    assert "the new CSV is UTF-16: orders not compared" in text
    assert "No change to its orders" not in text
