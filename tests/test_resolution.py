import pytest
import yaml

from retrobatch import gitops
from retrobatch.errors import UsageError
from retrobatch.resolution import resolve
from retrobatch.runner import RunOptions, run
from retrobatch.settings import Settings, load_settings
from runner_env import Repos, SmtpServer, item_csv

SUB = "2026-11-20-checkout-outage"
FAST = RunOptions(retry_delays=(0.01,), push_delay=0.01, push_attempts=2)


def _settings(repos: Repos) -> Settings:
    settings, _ = load_settings(repos.root)
    assert settings is not None
    return settings


def _in_doubt(repos: Repos, server: SmtpServer) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    server.handler.decide = lambda content, n: "drop"
    report = run(repos.work, _settings(repos), FAST, server.env())
    assert [o.status for o in report.outcomes] == ["sending"]
    server.handler.decide = None


def _origin_receipt(repos: Repos) -> dict[str, object]:
    text = repos.origin_file(f"submissions/{SUB}/receipt.yaml")
    assert text is not None
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_resolve_sent_closes_it(repos: Repos, smtp_server: SmtpServer) -> None:
    _in_doubt(repos, smtp_server)
    result = resolve(
        repos.work, _settings(repos), SUB, "sent", env={}, note="seen on File Submissions"
    )
    assert result.receipt.state == "sent"
    receipt = _origin_receipt(repos)
    assert receipt["state"] == "sent"
    assert receipt["emails"][0]["state"] == "sent"  # type: ignore[index]
    resolution = receipt["resolution"]
    assert isinstance(resolution, dict)
    assert resolution["decision"] == "sent"
    assert resolution["by"] == "Ana <ana@brand.example>"
    assert resolution["note"] == "seen on File Submissions"
    assert repos.origin.commit("main").message.strip() == f"retrobatch: resolve {SUB} as sent"
    again = run(repos.work, _settings(repos), FAST, smtp_server.env())
    assert (again.outcomes, again.exit_code) == ([], 0)
    assert smtp_server.handler.data_calls == 1


def test_resolve_not_sent_fails_it_and_the_next_run_sends_it(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    _in_doubt(repos, smtp_server)
    result = resolve(repos.work, _settings(repos), SUB, "not-sent", env={"GITHUB_ACTOR": "octocat"})
    assert result.receipt.state == "failed"
    receipt = _origin_receipt(repos)
    assert receipt["state"] == "failed"
    assert receipt["resolution"]["by"] == "octocat"  # type: ignore[index]
    report = run(
        repos.work, _settings(repos), FAST, smtp_server.env(GITHUB_EVENT_NAME="workflow_dispatch")
    )
    assert [o.status for o in report.outcomes] == ["sent"]
    assert len(smtp_server.received) == 2
    assert "resolution" not in _origin_receipt(repos)  # a new attempt, a new record


def test_only_a_sending_receipt_can_be_resolved(repos: Repos, smtp_server: SmtpServer) -> None:
    with pytest.raises(UsageError, match="no such submission"):
        resolve(repos.work, _settings(repos), "2026-01-01-none", "sent", env={})
    with pytest.raises(UsageError, match="no such submission"):
        resolve(repos.work, _settings(repos), "..", "sent", env={})
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    with pytest.raises(UsageError, match="has no receipt"):
        resolve(repos.work, _settings(repos), SUB, "sent", env={})
    run(repos.work, _settings(repos), FAST, smtp_server.env())
    with pytest.raises(UsageError, match="is sent, not sending"):
        resolve(repos.work, _settings(repos), SUB, "not-sent", env={})


def test_a_resolution_that_lost_a_race_is_not_recorded(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    _in_doubt(repos, smtp_server)
    repos.other.remote("origin").pull("main")
    resolve(repos.other, _settings(repos), SUB, "sent", env={"GITHUB_ACTOR": "bo"})
    with pytest.raises(gitops.PushFailed, match="nothing was recorded"):
        resolve(repos.work, _settings(repos), SUB, "not-sent", env={}, push_delay=0)
    assert _origin_receipt(repos)["resolution"]["by"] == "bo"  # type: ignore[index]
    assert not repos.work.is_dirty(untracked_files=True)
