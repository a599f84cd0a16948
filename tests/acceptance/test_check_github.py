"""`check --format github` on a simulated pull_request event: the base from the event,
annotations on stdout, the step summary appended to $GITHUB_STEP_SUMMARY."""

import json
from pathlib import Path

import pytest

from retrobatch.cli import main
from support.repo_factory import SETTINGS, RepoFactory, item_rows

SENT = "2026-11-01-sent"
NEW = "2026-11-20-outage"


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[RepoFactory, dict[str, str]]:
    """A repository with a sent and a pending submission on main, and a pull request branch that
    edits the sent one, adds a batch and redirects a destination; plus its event environment."""
    factory = RepoFactory(tmp_path / "repo")
    factory.submission(SENT, item_rows("S-1", "S-2"))
    factory.receipt(SENT, "sent")
    base = factory.commit("sent batch with its receipt")
    factory.repo.git.checkout("-b", "pr")
    factory.submission(SENT, item_rows("S-1", "S-3"))
    factory.submission(NEW, item_rows("A-1", "A-2"))
    settings = SETTINGS.replace("a1b2c3@inbound.example", "new-box@inbound.example")
    (factory.root / "retrobatch.yaml").write_text(settings)
    head = factory.commit("the pull request")
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": "synchronize",
                "pull_request": {"base": {"sha": base}, "head": {"sha": head}},
            }
        )
    )
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    return factory, {"GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(summary)}


def _github_check(
    factory: RepoFactory,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    for key in ("GITHUB_EVENT_PATH", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    status = main(["check", "--repo", str(factory.root), "--format", "github"])
    return status, capsys.readouterr().out


def test_pull_request_touching_a_sent_submission_fails(
    pull_request: tuple[RepoFactory, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    factory, env = pull_request
    status, out = _github_check(factory, env, monkeypatch, capsys)
    assert status == 1
    path = f"submissions/{SENT}/conversions.csv"
    assert f"::error file={path},title=repo.sent-changed::{SENT} was already sent" in out
    base = factory.repo.commit("main").hexsha
    assert main(["check", "--repo", str(factory.root), "--base", base]) == 1


def test_step_summary_is_appended_with_what_reviewers_need(
    pull_request: tuple[RepoFactory, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    factory, env = pull_request
    _github_check(factory, env, monkeypatch, capsys)
    text = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert text.startswith("earlier step\n## retrobatch check\n")
    warning_at = text.index("edits the destinations in `retrobatch.yaml`")
    assert warning_at < text.index("### ")
    assert "`a1b2c3@inbound.example` → Online Sale `new-box@inbound.example`" in text
    section = text[text.index(f"`{NEW}`") :]
    assert "| Destination | Online Sale (12345) → `new-box@inbound.example` |" in section
    assert "| Template | item-level |" in section
    assert "| Rows | 4 |" in section and "| Orders | 2 |" in section
    assert "| Total | 79.96 USD |" in section  # 4 lines at 19.99
    stamp = (
        (factory.root / f"submissions/{NEW}/conversions.csv")
        .read_text()
        .split("\n")[1]
        .split(",")[2]
    )
    assert f"| EventDate | {stamp} → {stamp} |" in section
    assert "| Partners | 0 |" in section
    assert "| Findings | 0 errors, 0 warnings |" in section
    assert "**On merge:** will e-mail 4 rows to Online Sale (12345)." in section
    assert "New in this change: every order above is added." in section
    sent = text[text.index(f"`{SENT}`") :]
    assert "**On merge:** nothing: it is delivered" in sent
    assert "**Changes by order:** 1 added, 1 removed, 0 changed" in sent
    repository = text[text.index("### Repository") : text.index(f"`{NEW}`")]
    assert "`repo.sent-changed`" in repository


def test_without_a_summary_file_only_annotations_are_printed(
    pull_request: tuple[RepoFactory, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    factory, env = pull_request
    summary = Path(env.pop("GITHUB_STEP_SUMMARY"))
    status, out = _github_check(factory, env, monkeypatch, capsys)
    assert status == 1 and out.startswith("::")
    assert "## retrobatch check" not in out
    assert summary.read_text() == "earlier step\n"  # untouched


def test_an_event_without_a_pull_request_gives_no_base(
    pull_request: tuple[RepoFactory, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    factory, env = pull_request
    push = tmp_path / "push.json"
    push.write_text(json.dumps({"ref": "refs/heads/main", "after": "abc"}))
    odd = tmp_path / "odd.json"  # JSON, but not an event
    odd.write_text(json.dumps(["pull_request"]))
    for event in (push, tmp_path / "missing.json", odd):
        env["GITHUB_EVENT_PATH"] = str(event)
        status, out = _github_check(factory, env, monkeypatch, capsys)
        assert status == 0  # nothing to compare with, and the batches are good
        assert "::error" not in out and "title=config.no-owner::" in out
        assert "Changes by order" not in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_broken_settings_exit_2_with_their_annotation_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    factory = RepoFactory(tmp_path / "repo", settings="version: 1\nsender: [\n")
    summary = tmp_path / "summary.md"
    status, out = _github_check(factory, {"GITHUB_STEP_SUMMARY": str(summary)}, monkeypatch, capsys)
    assert status == 2
    assert out.startswith("::error file=retrobatch.yaml,line=3,title=config.syntax::")
    assert "| ❌ | `config.syntax` | `retrobatch.yaml:3` |" in summary.read_text()


def test_a_summary_file_that_cannot_be_written_is_one_line(
    pull_request: tuple[RepoFactory, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    factory, env = pull_request
    target = tmp_path / "no-such-folder" / "summary.md"
    for key, value in {**env, "GITHUB_STEP_SUMMARY": str(target)}.items():
        monkeypatch.setenv(key, value)
    status = main(["check", "--repo", str(factory.root), "--format", "github"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines()[-1] == (
        f"retrobatch check: GITHUB_STEP_SUMMARY {target}: cannot write: No such file or directory"
    )
    assert "Traceback" not in err
