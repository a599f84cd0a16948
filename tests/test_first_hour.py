"""The defects a newcomer meets in the first hour (issue 12), one test each."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from repo_factory import RepoFactory, item_rows, manifest_text
from retrobatch.cli import build_parser, main


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    f = RepoFactory(tmp_path / "repo")
    f.commit("settings")
    return f


def check(factory: RepoFactory, *args: str) -> int:
    return main(["check", *args, "--repo", str(factory.root)])


def test_a_folder_without_manifest_yaml_is_an_error(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = factory.root / "submissions" / "2026-11-20-outage"
    folder.mkdir()
    (folder / "manifest.yml").write_text(manifest_text("2026-11-20-outage"))
    (folder / "conversions.csv").write_text(item_rows("A-1"))
    assert check(factory) == 1
    out = capsys.readouterr().out
    assert "submissions/2026-11-20-outage/ has no manifest.yaml" in out
    assert "fix: rename manifest.yml to manifest.yaml" in out and "[manifest.missing]" in out


def test_an_id_mismatch_is_reported_alone(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission(
        "2026-11-20-outage", item_rows("A-1"), manifest=manifest_text("2026-11-20-other")
    )
    assert check(factory) == 1
    out = capsys.readouterr().out
    assert "[manifest.id-mismatch]" in out
    assert "repo.duplicate-order" not in out


def test_a_comma_only_row_is_one_blank_line_warning(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-outage", item_rows("A-1") + ",,,,,,,,,,\n")
    assert check(factory) == 0
    out = capsys.readouterr().out
    assert out.count("[csv.") == 1 and "conversions.csv:4: warning: an empty line" in out


def test_init_under_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    assert main(["init", str(tmp_path / "file" / "subs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("retrobatch init: ") and "is a file, not a folder" in err
    assert "Traceback" not in err


def test_init_into_a_fresh_clone_of_an_empty_repository(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git.Repo.init(origin, bare=True)
    git.Repo.clone_from(str(origin), tmp_path / "clone")
    assert main(["init", str(tmp_path / "clone")]) == 0
    assert (tmp_path / "clone" / "retrobatch.yaml").is_file()
    assert git.Repo(tmp_path / "clone").remotes.origin.url == str(origin)


def test_diff_names_its_argument_and_as_of_its_variable(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["diff", "nosuchref", "--repo", str(factory.root)]) == 2
    assert "BASE nosuchref: not a commit" in capsys.readouterr().err
    monkeypatch.setenv("RETROBATCH_AS_OF", "garbage")
    assert check(factory) == 2
    assert "RETROBATCH_AS_OF='garbage': expected a date" in capsys.readouterr().err


def test_repo_before_the_command_and_no_internal_comment_in_help(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--repo", str(factory.root), "check"]) == 0
    assert "no problems" in capsys.readouterr().out
    assert "Nothing else lives here" not in build_parser().format_help()


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from retrobatch.cli import colour_for

    class Tty:
        def isatty(self) -> bool:
            return True

    assert colour_for(Tty())  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_for(Tty())  # type: ignore[arg-type]


def test_one_row_one_error_in_the_singular(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-outage", item_rows("A-1").replace("USD", "usd", 1))
    assert check(factory) == 1
    assert capsys.readouterr().out.rstrip().endswith("1 error, 0 warnings")
