import json
from pathlib import Path

import pytest

from repo_factory import RepoFactory, item_rows
from retrobatch.cli import main


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    f = RepoFactory(tmp_path / "repo")
    f.submission("2026-11-20-pending", item_rows("A-1", "A-2"))
    f.submission("2026-11-21-sent", item_rows("B-1"))
    f.receipt("2026-11-21-sent", "sent")
    f.submission("2026-11-22-broken", item_rows("C-1"))
    (f.root / "submissions" / "2026-11-22-broken" / "receipt.yaml").write_text("state: [\n")
    return f


def status(factory: RepoFactory, *args: str) -> int:
    return main(["status", "--repo", str(factory.root), *args])


def test_one_line_per_submission_with_its_state(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status(factory) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATE", "TEMPLATE"]
    states = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert states == {
        "2026-11-20-pending": "pending",
        "2026-11-21-sent": "sent",
        "2026-11-22-broken": "invalid",
    }


def test_json_and_details(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    assert status(factory, "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["state"] for d in doc] == ["pending", "sent", "invalid"]
    assert doc[0]["template"] == "item-level" and doc[0]["event_type"] == 12345
    assert status(factory, "2026-11-22-broken") == 0
    out = capsys.readouterr().out
    assert "PROBLEM" in out and "invalid" in out


def test_unknown_id_exits_2(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    assert status(factory, "2026-01-01-nothing") == 2
    assert "no submission" in capsys.readouterr().err
