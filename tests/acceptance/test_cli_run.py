import base64
import logging
import os
from pathlib import Path

import git
import pytest

from retrobatch.cli import main
from support.runner_env import (
    DESTINATION,
    SETTINGS_YAML,
    SMTP_PASSWORD,
    SMTP_USER,
    Repos,
    SmtpServer,
    item_csv,
    write_submission,
)

SUB = "2026-11-20-checkout-outage"
Capture = pytest.CaptureFixture[str]
SECRETS = (
    SMTP_PASSWORD,
    base64.b64encode(SMTP_PASSWORD.encode()).decode(),
    base64.b64encode(f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode()).decode(),
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "RETROBATCH_SMTP_HOST",
        "RETROBATCH_SMTP_PORT",
        "RETROBATCH_SMTP_USER",
        "RETROBATCH_SMTP_PASSWORD",
        "RETROBATCH_SMTP_SECURITY",
        "RETROBATCH_SMTP_CAFILE",
        "RETROBATCH_AS_OF",
        "GITHUB_ACTOR",
        "GITHUB_EVENT_NAME",
    ):
        monkeypatch.delenv(name, raising=False)


def _use(server: SmtpServer, monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    for name, value in server.env(**extra).items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def smtp(smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> SmtpServer:
    """The test server, configured through the environment as a workflow would."""
    _use(smtp_server, monkeypatch)
    return smtp_server


def _cli(repos: Repos, *args: str) -> int:
    return main([*args, "--repo", str(repos.root)])


def test_nothing_to_send_needs_no_smtp_settings(repos: Repos, capsys: Capture) -> None:
    assert _cli(repos, "run") == 0
    assert capsys.readouterr().out == "nothing to send\n"


def test_run_prints_one_line_per_submission(
    repos: Repos, smtp: SmtpServer, capsys: Capture
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 2), ("A-2", 1)]))
    assert _cli(repos, "run") == 0
    assert capsys.readouterr().out == (f"{SUB}: sent 1 part (3 rows) to a1b2c3@inbound.example\n")


def test_without_an_smtp_host_run_exits_2_and_says_how_to_configure(
    repos: Repos, capsys: Capture
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    assert _cli(repos, "run") == 2
    err = capsys.readouterr().err
    assert err.startswith("retrobatch run: no SMTP server configured to send ")
    assert "RETROBATCH_SMTP_HOST" in err and "--outbox" in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_a_refusal_exits_1(repos: Repos, smtp: SmtpServer, capsys: Capture) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    smtp.handler.decide = lambda content, n: "550 5.7.1 no"
    assert _cli(repos, "run") == 1
    assert capsys.readouterr().out == f"{SUB}: failed: {SUB}.csv: end of DATA: 550 5.7.1 no\n"


def test_dry_run_and_outbox_need_no_server(repos: Repos, tmp_path: Path, capsys: Capture) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    assert _cli(repos, "run", "--dry-run") == 0
    assert capsys.readouterr().out == (
        f"{SUB}: would send 1 part (1 row) to a1b2c3@inbound.example: {SUB}.csv\n"
    )
    assert _cli(repos, "run", "--outbox", str(tmp_path / "out")) == 0
    assert str(tmp_path / "out" / f"{SUB}.eml") in capsys.readouterr().out


def test_resolve_from_the_command_line(
    repos: Repos, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    smtp.handler.decide = lambda content, n: "drop"
    assert _cli(repos, "run") == 1
    assert "in doubt" in capsys.readouterr().out
    assert _cli(repos, "run") == 1
    assert f"retrobatch resolve {SUB} --sent|--not-sent" in capsys.readouterr().out
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert _cli(repos, "resolve", SUB, "--sent", "--note", "seen in impact.com") == 0
    assert capsys.readouterr().out == f"{SUB}: resolved as sent, now sent\n"
    assert _cli(repos, "resolve", SUB, "--not-sent") == 2
    assert "is sent, no part is sending" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        _cli(repos, "resolve", SUB)
    assert caught.value.code == 2


def test_a_bad_as_of_is_a_usage_error(
    repos: Repos, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setenv("RETROBATCH_AS_OF", "yesterday")
    assert _cli(repos, "run") == 2
    assert "expected a date" in capsys.readouterr().err


def test_the_password_never_shows(
    repos: Repos,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Capture,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    _use(smtp_server, monkeypatch, RETROBATCH_SMTP_PASSWORD=SMTP_PASSWORD + "-wrong")
    assert _cli(repos, "run") == 1  # login refused: failed, with the server's reason
    assert "login refused: 535" in capsys.readouterr().out
    _use(smtp_server, monkeypatch)
    assert _cli(repos, "run", "--retry-failed", "--save-copies", str(tmp_path / "copies")) == 0
    repos.add_submission("2026-11-21-second", item_csv([("B-1", 1)]))
    smtp_server.handler.decide = lambda content, n: "drop"
    assert _cli(repos, "run") == 1
    out = capsys.readouterr()
    seen += [out.out, out.err, caplog.text]
    seen += [repos.origin.git.log("-p", "--all"), repos.work.git.log("-p", "--all")]
    seen += [p.read_text(errors="replace") for p in (tmp_path / "copies").iterdir()]
    seen += [str(r.__dict__) for r in caplog.records]
    assert smtp_server.logins == [SMTP_USER, SMTP_USER]
    for text in seen:
        for secret in SECRETS:
            assert secret not in text


def test_an_invalid_submission_is_one_line_pointing_at_check(
    repos: Repos, smtp: SmtpServer, capsys: Capture
) -> None:
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    manifest = folder / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("12345", "99999"), encoding="utf-8")
    repos.work.index.add([str(manifest)])
    repos.work.index.commit("unknown event type")
    assert _cli(repos, "run") == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{SUB}: invalid, not sent: 2 errors, first submissions/{SUB}/")
    assert line.endswith(
        f"[manifest.unknown-event-type] (retrobatch check submissions/{SUB} lists all)"
    )
    assert smtp.received == []


def test_status_names_the_part_in_doubt_and_the_run(
    repos: Repos, smtp: SmtpServer, capsys: Capture
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    smtp.handler.decide = lambda content, n: "drop"
    assert _cli(repos, "run") == 1
    capsys.readouterr()
    assert _cli(repos, "status", SUB) == 0
    out = capsys.readouterr().out
    assert f"retrobatch resolve {SUB} --sent|--not-sent" in out
    (run_line,) = [line for line in out.splitlines() if line.startswith("RUN")]
    assert f":{os.getpid()}, started " in run_line and ", ended " in run_line


def test_resolve_help_and_readme_say_what_a_later_run_does(capsys: Capture) -> None:
    with pytest.raises(SystemExit):
        main(["resolve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "the part becomes failed, and `retrobatch run --retry-failed` sends it again" in help_text
    )
    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    assert (
        "`--not-sent` makes it `failed`, and a later `retrobatch run --retry-failed` sends it again"
        in readme
    )


def test_a_repository_without_a_commit_yet_gets_one_line_from_every_command(
    tmp_path: Path, smtp: SmtpServer, capsys: Capture
) -> None:
    """`git init`, files written, nothing committed: HEAD names no commit yet."""
    root = tmp_path / "fresh"
    git.Repo.init(root, initial_branch="main")
    (root / "retrobatch.yaml").write_text(SETTINGS_YAML, encoding="utf-8")
    write_submission(root / "submissions" / SUB, item_csv([("A-1", 2)]))

    def said(*args: str) -> tuple[int, str]:
        code = main([*args, "--repo", str(root)])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out + err

    code, out = said("run", "--dry-run")
    assert (code, out) == (0, f"{SUB}: would send 1 part (2 rows) to {DESTINATION}: {SUB}.csv\n")
    assert said("run") == (
        2,
        f"retrobatch run: submissions/{SUB} has uncommitted changes: run sends committed files "
        "only\n",
    )
    assert smtp.received == []
    assert said("resolve", SUB, "--sent") == (
        2,
        f"retrobatch resolve: {SUB} has no receipt: nothing was sent, nothing to resolve\n",
    )
    assert said("check", "--base", "HEAD") == (
        2,
        "retrobatch check: --base HEAD: not a commit in this repository\n",
    )
