"""The progress bar `check` draws on a terminal for large files."""

import datetime as dt
import io
from pathlib import Path

from retrobatch.check import submissions as check_core
from retrobatch.report.progress import bar_line, bars
from retrobatch.repository.settings import load_settings
from support.repo_factory import RepoFactory, item_rows


def test_bar_line_shows_share_and_megabytes() -> None:
    line = bar_line("a.csv", 30 * 1024 * 1024, 60 * 1024 * 1024)
    assert line.startswith("a.csv [" + "#" * 15 + "." * 15 + "]")
    assert "50%" in line and "30/60 MB" in line


def test_large_files_get_a_bar_that_ends_cleared(tmp_path: Path) -> None:
    factory = RepoFactory(tmp_path / "repo")
    factory.submission("2026-11-20-big", item_rows(*(f"A-{n}" for n in range(3000))))
    factory.submission("2026-11-21-small", item_rows("B-1"))
    settings, _ = load_settings(factory.root)
    assert settings is not None
    out = io.StringIO()
    big = (factory.root / "submissions/2026-11-20-big/conversions.csv").stat().st_size
    report = check_core.check(
        factory.root,
        settings,
        as_of=dt.datetime.now(dt.UTC),
        progress=bars(out, threshold=big, interval=0.0),
    )
    assert report.errors == 0
    drawn = out.getvalue()
    assert "submissions/2026-11-20-big/conversions.csv [" + "#" * 30 + "] 100%" in drawn
    assert "2026-11-21-small" not in drawn  # below the threshold: no bar
    assert drawn.endswith("\r\033[K")
