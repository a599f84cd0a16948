"""`retrobatch import` of a damaged workbook: one line naming the file, nothing written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from retrobatch.cli import main
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
