"""`retrobatch check` end to end through the CLI entry point, on repositories built in code."""

import csv
import io
import json
from pathlib import Path

import pytest

from retrobatch.cli import main
from support.repo_factory import RepoFactory, item_rows, manifest_text, recent


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    return RepoFactory(tmp_path / "repo")


def run(factory: RepoFactory, *args: str) -> int:
    return main(["check", "--repo", str(factory.root), *args])


def test_valid_repository_exits_0(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    factory.submission("2026-11-20-outage", item_rows("A-1", "A-2"))
    assert run(factory) == 0
    assert "1 submission checked: no problems" in capsys.readouterr().out


def test_error_exits_1_with_file_and_line(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-outage", item_rows("A-1"), manifest=manifest_text("wrong-id"))
    assert run(factory) == 1
    out = capsys.readouterr().out
    assert "submissions/2026-11-20-outage/manifest.yaml:1: " in out
    assert "[manifest.schema]" in out


@pytest.mark.parametrize(
    "name",
    ["../../retrobatch.yaml", "../other/x.csv", "a/../../../x.csv", "/etc/passwd", "..\\x.csv"],
)
def test_a_csv_named_outside_the_folder_is_one_finding_and_nothing_outside_is_listed(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    sub = "2026-11-20-outage"
    factory.submission(sub, item_rows("A-1"), manifest=manifest_text(sub, file=name))
    factory.submission("2026-11-21-other", item_rows("B-1"))
    assert run(factory, "--format", "json") == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["code"], f["path"]) for f in found] == [
        ("manifest.file-outside", f"submissions/{sub}/manifest.yaml")
    ]


def test_json_document(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    factory.submission(
        "2026-11-20-outage",
        item_rows("A-1", event_type=999),
        manifest=manifest_text("2026-11-20-outage", event_type=999),
    )
    assert run(factory, "--format", "json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == 1
    assert doc["summary"] == {"errors": 1, "warnings": 0}
    [sub] = doc["submissions"]
    assert sub["id"] == "2026-11-20-outage" and sub["path"] == "submissions/2026-11-20-outage"
    [f] = doc["findings"]
    assert f["code"] == "manifest.unknown-event-type" and f["line"] == 3


def test_missing_settings_exit_2_and_json_still_reports(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    (factory.root / "retrobatch.yaml").unlink()
    assert run(factory) == 2
    assert "[config.syntax]" in capsys.readouterr().err
    assert run(factory, "--format", "json") == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["findings"][0]["code"] == "config.syntax"
    assert run(factory, "--format", "csv") == 2
    table = list(csv.reader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert [row[1] for row in table] == ["code", "config.syntax"]


def test_csv_table_for_a_spreadsheet(
    factory: RepoFactory, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """One finding per row, the JSON's findings exactly; Excel's BOM and CRLF; and a header
    cell from the checked file that a spreadsheet would run as a formula is written inert."""
    rows = item_rows("A-1", "A-2").replace("A-2", '=HYPERLINK("http://x")')
    rows = rows.replace("Quantity", "=1+1", 1)
    factory.submission("2026-11-20-outage", rows)
    assert run(factory, "--format", "json") == 1
    expected = json.loads(capsysbinary.readouterr().out)["findings"]
    assert run(factory, "--format", "csv") == 1
    raw = capsysbinary.readouterr().out
    assert (
        raw.startswith(b"\xef\xbb\xbf")
        and b"\r\n" in raw
        and b"\n" not in raw.replace(b"\r\n", b"")
    )
    header, *table = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    assert header == ["severity", "code", "file", "line", "column", "message", "fix"]
    assert len(table) == len(expected) >= 2
    for row, f in zip(table, expected, strict=True):
        assert row[:4] == [f["severity"], f["code"], f["path"], str(f["line"] or "")]
        assert row[4].removeprefix("'") == (f["column"] or "")
        assert row[5] == f["message"] and row[6] == (f["hint"] or "")
    cells = [cell for row in table for cell in row]
    assert "'=1+1" in cells  # the unknown column's name, inert
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_broken_settings_exit_2(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    (factory.root / "retrobatch.yaml").write_text("version: 1\nsender: [\n")
    assert run(factory) == 2
    err = capsys.readouterr().err
    assert "retrobatch.yaml:" in err and "Traceback" not in err


def test_path_that_does_not_exist_exits_2(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(factory, str(factory.root / "submissions" / "nope")) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_a_path_outside_the_repository_exits_2_but_other_files_in_it_are_passed_over(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """pre-commit hands over every changed file; a file outside the repository is a mistake."""
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("OrderId\n")
    assert run(factory, str(elsewhere)) == 2
    assert capsys.readouterr().err == (
        f"retrobatch check: {elsewhere}: outside the repository {factory.root}\n"
    )
    (factory.root / "README.md").write_text("notes\n")
    assert run(factory, str(factory.root / "README.md")) == 0
    assert capsys.readouterr().out.endswith("0 submissions checked: no problems\n")


def test_not_a_repository_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--repo", str(tmp_path)]) == 2
    assert "not inside a git repository" in capsys.readouterr().err


def test_bad_as_of_exits_2(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(factory, "--as-of", "yesterday") == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_paths_select_submissions_and_ignore_other_files(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-good", item_rows("A-1"))
    factory.submission("2026-11-21-bad", item_rows("B-1"), manifest=manifest_text("x"))
    (factory.root / "notes.txt").write_text("not a submission\n")
    good = factory.root / "submissions" / "2026-11-20-good" / "conversions.csv"
    assert run(factory, str(good), str(factory.root / "notes.txt")) == 0
    assert "1 submission checked" in capsys.readouterr().out
    assert run(factory, str(factory.root / "retrobatch.yaml")) == 1


def test_delivered_submissions_are_skipped_unless_named(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = factory.submission("2026-11-20-sent", item_rows("A-1"), manifest=manifest_text("x"))
    factory.receipt("2026-11-20-sent", "sent")
    assert run(factory) == 0
    assert "0 submissions checked" in capsys.readouterr().out
    assert run(factory, str(folder)) == 1


def test_base_reports_a_change_to_a_sent_submission(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = factory.submission("2026-11-20-sent", item_rows("A-1"))
    factory.receipt("2026-11-20-sent", "sent")
    factory.submission("2026-11-21-failed", item_rows("B-1"))
    factory.receipt("2026-11-21-failed", "failed")
    base = factory.commit("sent")
    factory.repo.git.checkout("-b", "pr")
    (folder / "conversions.csv").write_text(item_rows("A-1", "A-9"))
    failed_csv = factory.root / "submissions" / "2026-11-21-failed" / "conversions.csv"
    failed_csv.write_text(item_rows("B-2"))
    factory.commit("edit history")
    assert run(factory, "--base", base, "--format", "json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["path"]) for f in doc["findings"]] == [
        ("repo.sent-changed", "submissions/2026-11-20-sent/conversions.csv")
    ]
    assert [s["id"] for s in doc["submissions"]] == ["2026-11-21-failed"]


def test_base_rejects_a_receipt_added_in_a_change(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-new", item_rows("A-1"))
    base = factory.commit("pending")
    factory.receipt("2026-11-20-new", "sent")
    assert run(factory, "--base", base) == 1
    assert "[repo.receipt-in-change]" in capsys.readouterr().out


def test_base_that_is_no_commit_exits_2(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.commit("first")
    assert run(factory, "--base", "no-such-ref") == 2
    assert "--base no-such-ref" in capsys.readouterr().err


def test_a_chained_file_may_carry_any_event_type_of_the_settings(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # impact.com's chained sample mixes the parent's and the child's event types in one file.
    header = "CampaignId,ActionTrackerId,CustomerId,OrderId,EventDate,Amount,CurrencyCode,ClickId"
    rows = [f"1111,{et},R523GSSD2,O-{et},{recent()},1.00,USD,clk" for et in (67890, 12345, 555)]
    factory.submission("2026-11-20-chained", "\n".join([header, *rows]) + "\n", template="chained")
    assert run(factory, "--format", "json") == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["code"], f["line"], f["severity"]) for f in findings] == [
        ("csv.chained-event-type", 4, "warning")
    ]
