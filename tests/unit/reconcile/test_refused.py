"""A submission folder holding a link or special file is never read: reconcile says so rather
than passing over it in silence."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from retrobatch.cli import main
from retrobatch.reconcile.api import ErrorDetail, FileSubmission
from retrobatch.reconcile.matching import reconcile_repository
from retrobatch.repository.settings import load_settings
from support.repo_factory import RepoFactory, item_rows

WARNING = (
    "warning: submissions/2026-11-21-sent/pipe: a FIFO (named pipe): a submission holds regular "
    "files only (the manifest, its CSV, the receipt, a README); nothing in this folder is read "
    "or sent until it is removed"
)


class NeverAsked:
    def list_submissions(
        self, start: dt.datetime, end: dt.datetime | None = None
    ) -> list[FileSubmission]:
        raise AssertionError("nothing outstanding may be asked about")

    def error_details(self, batch_id: str) -> list[ErrorDetail]:
        raise AssertionError("nothing outstanding may be asked about")


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    f = RepoFactory(tmp_path / "repo")
    f.submission("2026-11-21-sent", item_rows("B-1"))
    f.receipt("2026-11-21-sent", "sent")
    os.mkfifo(f.root / "submissions" / "2026-11-21-sent" / "pipe")
    return f


def test_the_cli_names_a_refused_folder_before_saying_there_is_nothing_to_do(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reconcile", "--repo", str(factory.root)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        WARNING,
        "nothing to reconcile: no sent part awaits impact.com's report",
    ]


def test_a_refused_folder_is_a_skipped_warning_of_the_result(factory: RepoFactory) -> None:
    settings = load_settings(factory.root)
    result = reconcile_repository(factory.root, settings, NeverAsked())
    assert [f"warning: {why}" for why in result.skipped] == [WARNING]
    assert result.asked == 0 and result.changed == []
