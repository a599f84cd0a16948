"""`retrobatch import`: a damaged workbook or a refused import is one line naming the file and
leaves nothing behind; an export is read into a scratch file outside the work tree, never into
memory, and becomes the submission's CSV with the mode of any file the user writes."""

from __future__ import annotations

import json
import stat
import subprocess
import zipfile
from pathlib import Path

import git
import openpyxl
import pytest

from retrobatch.cli import main
from retrobatch.csvfile import spreadsheet
from retrobatch.csvfile.spreadsheet import XLS_MAGIC
from support.repo_factory import RepoFactory

SUB = "2026-11-20-outage"


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    f = RepoFactory(tmp_path / "repo")
    f.commit("settings")
    return f


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["CampaignId", "ActionTrackerId", "EventDate", "OrderId", "ClickId", "Amount"])
    for n in range(3000):
        sheet.append([1000, 12345, "2026-11-20T10:00:00Z", f"A-{n}", f"c{n}", 1.5])
    path = tmp_path / "export.xlsx"
    book.save(path)
    return path


def truncated(path: Path) -> Path:
    """The workbook cut short, as an interrupted download leaves it: no longer a zip."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def sheet_cut(path: Path) -> Path:
    """A valid zip whose sheet XML stops halfway: found only while the rows are read."""
    damaged = path.with_name("damaged.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith("sheet1.xml"):
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    return damaged


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (truncated, "cannot read as an .xlsx workbook: File is not a zip file"),
        (sheet_cut, "the workbook is damaged after "),
    ],
)
def test_a_damaged_workbook_is_one_line_and_nothing_is_written(
    factory: RepoFactory,
    workbook: Path,
    capsys: pytest.CaptureFixture[str],
    damage: object,
    said: str,
) -> None:
    path = damage(workbook)  # type: ignore[operator]
    args = ["import", str(path), "--id", SUB, "--template", "order-level", "--event-type", "12345"]
    assert main([*args, "--repo", str(factory.root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"retrobatch import: {path}: {said}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (factory.root / "submissions" / SUB).exists()
    assert nothing_left(factory.root)


def nothing_left(root: Path) -> bool:
    """No scratch file in the cache folder, and nothing new in the work tree."""
    scratch = list((root / ".git" / "retrobatch").glob("import-*"))
    return not scratch and not git.Repo(root).git.status("--porcelain", "--untracked-files=all")


def import_args(path: Path, root: Path) -> list[str]:
    return [
        *("import", str(path), "--id", SUB, "--template", "order-level"),
        *("--event-type", "12345", "--repo", str(root)),
    ]


def test_an_import_becomes_the_csv_with_an_ordinary_mode(
    factory: RepoFactory, workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(import_args(workbook, factory.root))
    folder = factory.root / "submissions" / SUB
    data = (folder / "conversions.csv").read_text(encoding="utf-8").splitlines()
    assert data[0] == "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount"
    assert data[1:3] == [f"1000,12345,2026-11-20T10:00:00Z,A-{n},c{n},1.5" for n in (0, 1)]
    assert len(data) == 3001
    mode = stat.S_IMODE((folder / "conversions.csv").stat().st_mode)
    assert mode == stat.S_IMODE((folder / "manifest.yaml").stat().st_mode)
    assert not list((factory.root / ".git" / "retrobatch").glob("import-*"))
    assert "created" in capsys.readouterr().out


def test_an_import_over_an_existing_submission_changes_nothing(
    factory: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.csv"
    export.write_text("OrderId,Amount\nA-1,1.00\n", encoding="utf-8")
    assert main(import_args(export, factory.root)) in (0, 1)
    folder = factory.root / "submissions" / SUB
    factory.commit("the first import")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    export.write_text("OrderId,Amount\nB-2,2.00\n", encoding="utf-8")
    capsys.readouterr()
    assert main(import_args(export, factory.root)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and SUB in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert nothing_left(factory.root)


def test_a_workbook_saved_under_a_csv_name_is_read_as_the_workbook(
    factory: RepoFactory, workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    renamed = workbook.rename(workbook.with_name("export.csv"))
    main(import_args(renamed, factory.root))
    assert "(3,000 rows)" in capsys.readouterr().out
    data = (factory.root / "submissions" / SUB / "conversions.csv").read_text(encoding="utf-8")
    assert data.splitlines()[1] == "1000,12345,2026-11-20T10:00:00Z,A-0,c0,1.5"


def test_an_xls_workbook_is_one_line_saying_to_save_it_as_xlsx(
    factory: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("old.xls", "old.csv"):
        path = tmp_path / name
        path.write_bytes(XLS_MAGIC + bytes(504))  # an OLE2 container's header, as Excel 97 wrote
        assert main(import_args(path, factory.root)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Excel 97-2003 workbook (.xls)" in err
        assert "save it as .xlsx" in err
    assert nothing_left(factory.root)


def test_check_of_a_workbook_saved_as_the_csv_says_what_it_is(
    factory: RepoFactory, workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = factory.submission(SUB, "OrderId,Amount\nA-1,1.00\n")
    (folder / "conversions.csv").write_bytes(workbook.read_bytes())
    assert main(["check", "--repo", str(factory.root), "--format", "json"]) == 1
    [found] = json.loads(capsys.readouterr().out)["findings"]
    assert found["code"] == "csv.nul-byte"
    assert "an .xlsx workbook under a .csv name" in found["hint"]
    assert "retrobatch import" in found["hint"]


def test_a_workbook_openpyxl_cannot_open_is_one_line(
    factory: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chart sheet without a drawing makes openpyxl fail with an AttributeError of its own."""
    book = openpyxl.Workbook()
    book.create_chartsheet("Chart")
    path = tmp_path / "charts.xlsx"
    book.save(path)
    assert main(import_args(path, factory.root)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"retrobatch import: {path}: cannot read as an .xlsx workbook")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert nothing_left(factory.root)


@pytest.mark.parametrize(
    ("limit", "said"),
    [
        ("MAX_SHARED_STRINGS_BYTES", "its part xl/sharedStrings.xml inflates to"),
        ("MAX_PART_BYTES", "inflates to"),
        ("EXCEL_MAX_ROWS", "more than Excel's 100 rows in one sheet"),
    ],
)
def test_a_workbook_past_what_an_export_needs_is_refused(
    factory: RepoFactory,
    workbook: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    limit: str,
    said: str,
) -> None:
    """A zip bomb's parts say what they inflate to: the limits (here lowered to this small
    workbook's size) are checked before openpyxl reads a byte, or as rows come."""
    with zipfile.ZipFile(workbook, "a") as book:  # Excel keeps text in shared strings
        book.writestr("xl/sharedStrings.xml", "<sst>" + "<si><t>A-1</t></si>" * 20 + "</sst>")
    monkeypatch.setattr(spreadsheet, limit, 100)
    assert main(import_args(workbook, factory.root)) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1
    assert nothing_left(factory.root)


@pytest.mark.parametrize("blocked", ["a file in its place", "a folder that takes no file"])
def test_an_import_without_a_usable_cache_folder_stages_in_the_systems(
    factory: RepoFactory, workbook: Path, capsys: pytest.CaptureFixture[str], blocked: str
) -> None:
    cache = factory.root / ".git" / "retrobatch"
    if blocked == "a file in its place":
        cache.write_text("not a folder\n", encoding="utf-8")
    else:  # read-only even for root: an immutable folder, where the file system has them
        cache.mkdir()
        if subprocess.run(["chattr", "+i", str(cache)], capture_output=True).returncode:
            pytest.skip("chattr +i is not available here")
    try:
        main(import_args(workbook, factory.root))
    finally:
        if cache.is_dir():
            subprocess.run(["chattr", "-i", str(cache)], capture_output=True)
    assert "(3,000 rows)" in capsys.readouterr().out
    data = (factory.root / "submissions" / SUB / "conversions.csv").read_text(encoding="utf-8")
    assert len(data.splitlines()) == 3001


def test_a_chart_sheet_is_no_sheet_of_rows(
    factory: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openpyxl.chart import BarChart, Reference

    book = openpyxl.Workbook()
    rows = book.active
    assert rows is not None
    rows.append(["OrderId", "Amount"])
    rows.append(["A-1", 1])
    chart = BarChart()
    chart.add_data(Reference(rows, min_col=2, min_row=1, max_row=2))
    book.create_chartsheet("Chart").add_chart(chart)
    path = tmp_path / "charts.xlsx"
    book.save(path)
    assert main([*import_args(path, factory.root), "--sheet", "Chart"]) == 2
    err = capsys.readouterr().err
    assert "--sheet 'Chart': charts.xlsx has no such sheet (sheets: Sheet)" in err
    assert err.count("\n") == 1 and nothing_left(factory.root)
