import dataclasses
import datetime as dt
import socket
import subprocess

import pytest
import yaml

from retrobatch.errors import UsageError
from retrobatch.repository.settings import Settings, load_settings
from retrobatch.send.resolution import StillHeld, resolve
from retrobatch.send.runner import RunOptions, run
from support.runner_env import Repos, SmtpServer, item_csv
from support.times import now, utc_text

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
    with pytest.raises(UsageError, match="is sent, no part is sending"):
        resolve(repos.work, _settings(repos), SUB, "not-sent", env={})


def test_a_resolution_that_lost_a_race_is_not_recorded(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    _in_doubt(repos, smtp_server)
    repos.other.remote("origin").pull("main")
    resolve(repos.other, _settings(repos), SUB, "sent", env={"GITHUB_ACTOR": "bo"})
    # our clone still sees `sending`; the ledger finds bo's decision and refuses on top of it
    with pytest.raises(UsageError, match="is sent, no part is sending"):
        resolve(repos.work, _settings(repos), SUB, "not-sent", env={}, push_delay=0)
    assert _origin_receipt(repos)["resolution"]["by"] == "bo"  # type: ignore[index]
    assert not repos.work.is_dirty(untracked_files=True)


def _held_by(repos: Repos, **lease: object) -> None:
    """Origin's receipt says a run holds it (as a crash or a live run would leave it)."""
    rel = f"submissions/{SUB}/receipt.yaml"
    data = yaml.safe_load((repos.root / rel).read_text(encoding="utf-8"))
    data["run"] = {
        "id": "r1",
        "started_at": utc_text(now()),
        "expires_at": utc_text(now() + dt.timedelta(minutes=60)),
        "where": "https://github.com/o/r/actions/runs/1",
        **lease,
    }
    (repos.root / rel).write_text(yaml.safe_dump(data), encoding="utf-8")
    repos.work.index.add([rel])
    repos.work.index.commit("a run holds it")
    repos.work.remote("origin").push("main").raise_if_error()


def test_resolve_refuses_while_the_run_may_be_alive(repos: Repos, smtp_server: SmtpServer) -> None:
    _in_doubt(repos, smtp_server)
    _held_by(repos)
    with pytest.raises(StillHeld, match=r"actions/runs/1.*may still be sending.*--force"):
        resolve(repos.work, _settings(repos), SUB, "not-sent", env={})
    assert _origin_receipt(repos)["state"] == "sending"
    result = resolve(repos.work, _settings(repos), SUB, "not-sent", env={}, force=True)
    assert result.receipt.state == "failed"


def test_a_dead_local_holder_or_an_expired_lease_does_not_block(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    _in_doubt(repos, smtp_server)
    gone = subprocess.Popen(["true"])
    gone.wait()
    _held_by(repos, host=socket.gethostname(), pid=gone.pid, where="here")
    assert resolve(repos.work, _settings(repos), SUB, "sent", env={}).receipt.state == "sent"


def test_expired_lease(repos: Repos, smtp_server: SmtpServer) -> None:
    _in_doubt(repos, smtp_server)
    _held_by(repos, expires_at=utc_text(now() - dt.timedelta(seconds=1)))
    assert resolve(repos.work, _settings(repos), SUB, "sent", env={}).receipt.state == "sent"


def test_each_part_in_doubt_is_decided_on_its_own(repos: Repos, smtp_server: SmtpServer) -> None:
    csv = item_csv([(f"A-{n:04d}", 1 + n % 3) for n in range(500)], pad=20)
    repos.add_submission(SUB, csv)
    settings = dataclasses.replace(_settings(repos), max_email_bytes=65536)
    smtp_server.handler.decide = lambda content, n: "drop" if n in (1, 3) else "250"
    report = run(repos.work, settings, FAST, smtp_server.env())
    assert [o.status for o in report.outcomes] == ["sending"]
    count = len(_origin_receipt(repos)["emails"])  # type: ignore[arg-type]
    assert "--part 1 --sent|--not-sent" in report.outcomes[0].detail
    assert "--part 3 --sent|--not-sent" in report.outcomes[0].detail
    with pytest.raises(UsageError, match="parts 1, 3 are in doubt"):
        resolve(repos.work, settings, SUB, "sent", env={})
    with pytest.raises(UsageError, match="part 2 is sent, not in doubt"):
        resolve(repos.work, settings, SUB, "sent", env={}, part=2)
    first = resolve(repos.work, settings, SUB, "sent", env={}, part=1)
    assert first.receipt.state == "sending"
    third = resolve(repos.work, settings, SUB, "not-sent", env={}, part=3)
    assert third.receipt.state == "partial"
    parts = _origin_receipt(repos)["emails"]
    assert [p["state"] for p in parts] == ["sent", "sent", "failed"] + ["sent"] * (count - 3)  # type: ignore[index,union-attr]
    assert parts[2]["resolution"]["decision"] == "not-sent"  # type: ignore[index]
    sent_before = smtp_server.handler.data_calls
    again = run(
        repos.work, settings, dataclasses.replace(FAST, retry_failed=True), smtp_server.env()
    )
    assert [o.status for o in again.outcomes] == ["sent"]
    assert smtp_server.handler.data_calls == sent_before + 1  # part 3 only
