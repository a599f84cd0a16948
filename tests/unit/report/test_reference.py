"""The reference: docs/ agrees with the catalogues both ways, and explain and columns print it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from retrobatch.cli import main
from retrobatch.csvfile.templates import load_template
from retrobatch.findings import CATALOGUE
from retrobatch.reconcile import impact_errors
from retrobatch.report import reference
from retrobatch.repository.schemas import TEMPLATES

ROOT = Path(__file__).resolve().parents[3]
HEADING = re.compile(r"^## (\S+)$", re.MULTILINE)


def _headings(page: str) -> set[str]:
    return set(HEADING.findall((ROOT / "docs" / page).read_text(encoding="utf-8")))


def test_every_finding_code_has_a_docs_entry_and_every_entry_a_code() -> None:
    assert _headings("findings.md") == set(CATALOGUE)


def test_every_impact_error_has_a_docs_entry_and_every_entry_an_error() -> None:
    entries = _headings("impact-errors.md") - {"What"}  # the "What reconcile reads" section
    assert entries == set(impact_errors.ERRORS)


def test_the_generated_docs_are_up_to_date() -> None:
    for rel, render in reference.PAGES.items():
        committed = (ROOT / rel).read_text(encoding="utf-8")
        assert committed == render(), f"{rel} is stale: python -m retrobatch.report.reference"


def test_every_code_says_whose_rule_it_is_with_a_source_and_a_fix() -> None:
    for code, entry in CATALOGUE.items():
        assert entry.owner in ("impact.com", "retrobatch", "impact.com and retrobatch"), code
        assert entry.source and entry.fix, code
        if entry.owner != "retrobatch":
            assert "impact.com" in entry.source, code


def test_every_finding_an_impact_error_names_exists() -> None:
    for code, entry in impact_errors.ERRORS.items():
        assert set(entry.caught_by) <= set(CATALOGUE), code
        assert entry.meaning and entry.fix, code


def test_unknown_impact_codes_are_unknown_and_call_codes_share_an_entry() -> None:
    assert impact_errors.lookup("SOMETHING_NEW") is None
    assert impact_errors.lookup("CALL_NOT_ANSWERED") is impact_errors.ERRORS["CALL_*"]


def test_no_project_file_points_outside_the_project() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = [
        rel
        for rel in tracked
        if (ROOT / rel).is_file()
        and "../" + "shared" in (ROOT / rel).read_text(encoding="utf-8", errors="replace")
        and rel != "tests/test_reference.py"
    ]
    assert offenders == []


def test_explain_prints_a_finding_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "csv.bad-date"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("csv.bad-date (error): ")
    assert "rule of:  impact.com and retrobatch" in out
    assert "retrobatch policy" in out and "NOW stamps the processing time" in out


def test_explain_prints_an_impact_error_and_the_finding_that_catches_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "OID_DUPLICATE"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OID_DUPLICATE (impact.com processing error): ")
    assert "check:    csv.order-not-contiguous, csv.duplicate-row, repo.duplicate-order" in out


def test_explain_an_unknown_code_exits_2_with_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "csv.bad-dat"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "retrobatch explain: 'csv.bad-dat' is neither a finding code nor a known impact.com "
        "error; did you mean csv.bad-date?"
    )


def test_explain_without_a_code_lists_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain"]) == 0
    assert capsys.readouterr().out.split() == [*CATALOGUE, *impact_errors.ERRORS]


def test_columns_prints_every_column_with_format_aliases_and_requirement(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["columns", "modifications"]) == 0
    out = capsys.readouterr().out
    for name in load_template("modifications").columns:
        assert f"\n{name}" in out
    assert "OrderId (also Oid)\n  required: one action reference\n" in out
    assert "Reason\n  required: yes\n" in out
    assert "TEST_ACTION" in out and "1000.4636.158133" in out


def test_columns_of_an_unknown_template_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["columns", "orders"])
    assert exited.value.code == 2
    assert "invalid choice: 'orders'" in capsys.readouterr().err


@pytest.mark.parametrize("template", TEMPLATES)
def test_formats_doc_has_every_column_of_every_template(template: str) -> None:
    page = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    section = page.split(f"## {template}\n", 1)[1].split("\n## ", 1)[0]
    for name in load_template(template).columns:
        assert f"\n| {name} |" in section
