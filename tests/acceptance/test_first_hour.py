"""The defects a newcomer meets in the first hour (issue 12), one test each."""

from __future__ import annotations

import argparse
from pathlib import Path

import git
import pytest

from retrobatch.cli import COMMANDS, build_parser, main
from support.repo_factory import RepoFactory, item_rows, manifest_text


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


def _help(parser: argparse.ArgumentParser, command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_declared_alone_parses_as_among_all(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main` declares only the command it is given (a faster start): same options, same help."""
    alone = _help(build_parser(command), command, capsys)
    assert alone == _help(build_parser(), command, capsys)
    assert f"usage: retrobatch {command}" in alone


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


# -- hints where the fix is known ----------------------------------------------------------------


def test_a_us_date_gets_its_iso_form_and_a_group_gets_one_fix(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = item_rows("A-1", "A-2", "A-3")
    day = rows.splitlines()[1].split(",")[2][:10]
    y, m, d = day.split("-")
    us = f"{int(m)}/{int(d)}/{y} 12:00"
    factory.submission("2026-11-20-outage", rows.replace(f"{day}T12:00:00Z", us))
    assert check(factory) == 1
    out = capsys.readouterr().out
    assert f"EventDate: 6 rows, e.g. EventDate '{us}' is not" in out
    assert "(lines 2, 3, 4, …)" in out
    assert "run `retrobatch fix --timezone ZONE`" in out
    assert out.count("[csv.bad-date]") == 1
    assert main(["check", "--format", "json", "--repo", str(factory.root)]) == 1
    import json

    doc = json.loads(capsys.readouterr().out)
    dates = [f for f in doc["findings"] if f["code"] == "csv.bad-date"]
    assert len(dates) == 6 and dates[0]["hint"].startswith(f"{day}T12:00:00 with its offset")


def test_totals_are_exact_past_the_listing_limit(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = item_rows(*(f"A-{n}" for n in range(600))).replace(",USD,", ",usd,")
    factory.submission("2026-11-20-outage", rows)
    assert main(["check", "--format", "json", "--repo", str(factory.root)]) == 1
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"] == {"errors": 1200, "warnings": 1}  # and one csv.truncated
    assert check(factory) == 1
    out = capsys.readouterr().out
    assert "CurrencyCode: 1,200 rows, e.g." in out and "1,200 errors, 1 warning" in out


def test_money_and_case_and_yaml_and_encoding_hints(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-money", item_rows("A-1").replace(",19.99,", ',"$1,019.99",'))
    factory.submission(
        "2026-11-20-case", item_rows("B-1"), manifest=manifest_text("2026-11-20-case",
                                                                     file="Conversions.csv")
    )  # fmt: skip
    folder = factory.submission("2026-11-20-utf16", None)
    (folder / "conversions.csv").write_bytes(item_rows("C-1").encode("utf-16"))
    folder = factory.submission("2026-11-20-mac", None)
    (folder / "conversions.csv").write_bytes(item_rows("D-1").replace("\n", "\r").encode())
    factory.submission("2026-11-20-semi", item_rows("E-1").replace(",", ";"))
    factory.submission(
        "2026-11-20-yaml", item_rows("F-1"),
        manifest=manifest_text("2026-11-20-yaml").replace(
            "description: Orders", "description: Note: orders"
        ),
    )  # fmt: skip
    assert check(factory) == 1
    out = capsys.readouterr().out
    assert "fix: write 1019.99 (no currency symbol or thousands separator)" in out
    assert "fix: did you mean 'conversions.csv'? (names are case-sensitive)" in out
    assert "this is UTF-16: save it as CSV UTF-8" in out
    assert out.count("[csv.line-ends]") == 1 and "2026-11-20-mac/conversions.csv:1:" in out
    assert "the file is ';'-delimited" in out and out.count("2026-11-20-semi/") == 1
    assert "quote the value" in out


def test_expected_forms_are_spelled_out(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    text = manifest_text("2026-11-20 Outage").replace("ana@brand.example", "Ana <ana>")
    factory.submission("2026-11-20-outage", item_rows("A-1"), manifest=text)
    assert check(factory) == 1
    out = capsys.readouterr().out
    assert "id: '2026-11-20 Outage' is not YYYY-MM-DD-slug" in out
    assert "requested_by: 'Ana <ana>' is not an e-mail address (name@domain.example" in out
    assert out.count("requested_by") == 1


# -- Windows-1252: stated, never guessed ---------------------------------------------------------


def test_a_windows_1252_export_is_shown_then_fixed_when_the_encoding_is_stated(
    factory: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What Excel on Windows saves as "CSV (Comma delimited)": Windows-1252 bytes."""
    rows = item_rows("A-1").replace("Shoes", "Chaussures de randonnée")
    folder = factory.submission("2026-11-20-outage", None)
    csv_path = folder / "conversions.csv"
    csv_path.write_bytes(rows.encode("cp1252"))
    assert check(factory) == 1
    out = capsys.readouterr().out
    rel = "submissions/2026-11-20-outage/conversions.csv"
    assert f"{rel}:2: line 2 is not UTF-8 (byte 0xE9)" in out
    assert "in Windows-1252 this line reads '" in out and "Chaussures de randonnée" in out
    assert f"run `retrobatch fix --encoding cp1252 {rel}`" in out
    fix = ["fix", rel, "--repo", str(factory.root)]
    assert main(fix) == 1  # without --encoding: nothing is guessed, nothing written
    assert csv_path.read_bytes() == rows.encode("cp1252")
    assert "fix never guesses an encoding" in capsys.readouterr().out
    assert main([*fix, "--encoding", "cp1252", "--dry-run"]) == 0
    assert csv_path.read_bytes() == rows.encode("cp1252")
    assert main([*fix, "--encoding", "cp1252"]) == 0
    out = capsys.readouterr().out
    assert "re-encoded as UTF-8: 1 (line 1: 'cp1252' -> 'UTF-8')" in out
    assert csv_path.read_text(encoding="utf-8") == rows
    assert check(factory) == 0
    capsys.readouterr()
    assert main([*fix, "--encoding", "cp1252"]) == 0  # the same command again: no mojibake
    out = capsys.readouterr().out
    assert "nothing to change" in out and "already UTF-8" in out
    assert csv_path.read_text(encoding="utf-8") == rows


def test_import_takes_the_encoding_of_a_csv_export(
    factory: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.csv"
    rows = item_rows("A-1").replace("Shoes", "Café")
    export.write_bytes(rows.replace(",", ";").encode("cp1252"))
    sub = "2026-11-20-outage"
    args = ["import", str(export), "--id", sub, "--template", "item-level", "--event-type",
            "12345", "--description", "Orders lost", "--repo", str(factory.root)]  # fmt: skip
    assert main([*args, "--encoding", "cp1252"]) == 0
    data = (factory.root / "submissions" / sub / "conversions.csv").read_text(encoding="utf-8")
    assert data == rows
    assert check(factory) == 0
    book = tmp_path / "export.xlsx"
    book.write_bytes(b"not read")
    xlsx = ["import", str(book), "--id", "2026-11-21-other", "--template", "item-level",
            "--event-type", "12345", "--encoding", "cp1252",
            "--repo", str(factory.root)]  # fmt: skip
    assert main(xlsx) == 2
    assert "--encoding: export.xlsx is not a CSV file" in capsys.readouterr().err


def test_an_unknown_encoding_is_one_line(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-outage", item_rows("A-1"))
    args = ["fix", "submissions/2026-11-20-outage", "--repo", str(factory.root)]
    assert main([*args, "--encoding", "klingon"]) == 2
    err = capsys.readouterr().err
    assert "--encoding 'klingon': not a text encoding Python knows" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert main([*args, "--encoding", "base64"]) == 2  # a codec, but not of text
