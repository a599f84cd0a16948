import dataclasses
import email
import os
import stat
from email import policy
from email.message import EmailMessage
from pathlib import Path

import git
import pytest
import yaml

from retrobatch.errors import OperationFailed, UsageError
from retrobatch.repository import gitops
from retrobatch.repository.ledger import write_receipt
from retrobatch.repository.receipts import load_receipt
from retrobatch.repository.settings import Settings, load_settings
from retrobatch.send.runner import RunOptions, RunReport, run, started_by_receipt_commit
from support.runner_env import DESTINATION, SENDER, Repos, SmtpServer, item_csv

SUB = "2026-11-20-checkout-outage"
RECEIPT = f"submissions/{SUB}/receipt.yaml"
FAST = {"retry_delays": (0.01, 0.01), "push_delay": 0.01, "push_attempts": 2}


def _settings(repos: Repos, **changes: object) -> Settings:
    settings, problems = load_settings(repos.root)
    assert settings is not None, problems
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def _run(
    repos: Repos,
    server: SmtpServer | None,
    settings: Settings | None = None,
    env: dict[str, str] | None = None,
    **options: object,
) -> RunReport:
    opts = RunOptions(**{**FAST, **options})  # type: ignore[arg-type]
    environment = env if env is not None else (server.env() if server else {})
    return run(repos.work, settings or _settings(repos), opts, environment)


def _parse(content: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(content, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _attachment(content: bytes) -> tuple[str, bytes]:
    (part,) = _parse(content).iter_attachments()
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return str(part.get_filename()), data


def _origin_receipt(repos: Repos, sub: str = SUB) -> dict[str, object]:
    text = repos.origin_file(f"submissions/{sub}/receipt.yaml")
    assert text is not None, "no receipt on origin"
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def _states(report: RunReport) -> dict[str, str]:
    return {o.id: o.status for o in report.outcomes}


def test_what_arrives_is_what_impact_asks_for(repos: Repos, smtp_server: SmtpServer) -> None:
    csv = item_csv([("A-1001", 2), ("A-1002", 1)], newline="\r\n")
    repos.add_submission(SUB, csv, cc=("finance@brand.example",))
    added = repos.work.head.commit.hexsha
    report = _run(repos, smtp_server)
    assert (_states(report), report.exit_code) == ({SUB: "sent"}, 0)
    (got,) = smtp_server.received
    assert got.mail_from == SENDER
    assert got.rcpt_tos == [DESTINATION, "finance@brand.example"]
    message = _parse(got.content)
    assert (message["From"], message["To"], message["Cc"]) == (
        SENDER,
        DESTINATION,
        "finance@brand.example",
    )
    assert message["Subject"] is None
    assert message.get_body() is None
    (part,) = message.iter_attachments()
    assert part.get_content_disposition() == "attachment"
    assert part.get_content_type() == "text/csv"
    assert _attachment(got.content) == (f"{SUB}.csv", csv)

    receipt = _origin_receipt(repos)
    assert receipt["state"] == "sent"
    assert receipt["source_commit"] == added
    (sent,) = receipt["emails"]  # type: ignore[misc]
    assert sent["attachment"] == f"{SUB}.csv"
    assert sent["rows"] == 3
    assert sent["message_id"] == message["Message-ID"]
    assert sent["smtp_response"] == "250 2.0.0 Ok: queued as Q1"
    assert sent["cc"] == ["finance@brand.example"]
    # What status shows later, recorded now so the CSV is never read again for it.
    figures: dict[str, object] = receipt["figures"]  # type: ignore[assignment]
    assert (figures["rows"], figures["orders"], figures["amounts"]) == (3, 2, {"USD": "32.50"})
    event_date = csv.decode().splitlines()[1].split(",")[2]
    assert figures["first_event"] == figures["last_event"] == event_date
    # The `sending` receipt, with the Message-ID, reached origin before the message was sent.
    history = list(repos.origin.iter_commits("main", paths=RECEIPT))
    assert [c.message.strip() for c in history] == [
        f"retrobatch: sent {SUB}",
        f"retrobatch: sending {SUB}",
    ]
    sending = yaml.safe_load((history[1].tree / RECEIPT).data_stream.read())
    assert sending["state"] == "sending"
    assert sending["emails"][0]["message_id"] == message["Message-ID"]
    assert {c.author.name for c in history} == {"retrobatch-bot"}
    assert repos.work.head.commit.hexsha == repos.origin.commit("main").hexsha


def test_a_second_run_sends_nothing(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    assert _run(repos, smtp_server).exit_code == 0
    again = _run(repos, smtp_server)
    assert (again.outcomes, again.exit_code) == ([], 0)
    assert len(smtp_server.received) == 1


def test_550_fails_then_retry_failed_sends(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    smtp_server.handler.decide = lambda content, n: "550 5.7.1 not allowed"
    first = _run(repos, smtp_server)
    assert (_states(first), first.exit_code) == ({SUB: "failed"}, 1)
    receipt = _origin_receipt(repos)
    assert receipt["state"] == "failed"
    assert "550 5.7.1 not allowed" in receipt["emails"][0]["error"]  # type: ignore[index]

    smtp_server.handler.decide = None
    plain = _run(repos, smtp_server)  # started by the receipt commit: no retry, not a failure
    assert (_states(plain), plain.exit_code) == ({SUB: "not-retried"}, 0)
    assert plain.started_by_receipt_commit
    assert smtp_server.received == []

    retry = _run(repos, smtp_server, retry_failed=True)
    assert (_states(retry), retry.exit_code) == ({SUB: "sent"}, 0)
    assert len(smtp_server.received) == 1
    assert _origin_receipt(repos)["attempts"] == 2


def test_a_failed_submission_is_retried_when_its_files_change(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    folder = repos.add_submission(SUB, item_csv([("A-1", 1), ("A-2", 1)]))
    smtp_server.handler.decide = lambda content, n: "554 5.6.0 bad file"
    assert _states(_run(repos, smtp_server)) == {SUB: "failed"}
    smtp_server.handler.decide = None
    fixed = item_csv([("A-1", 1)])
    (folder / "conversions.csv").write_bytes(fixed)
    repos.work.index.add([str(folder / "conversions.csv")])
    repos.work.index.commit("Drop A-2")
    report = _run(repos, smtp_server)
    assert _states(report) == {SUB: "sent"}
    assert _attachment(smtp_server.received[0].content)[1] == fixed


def test_451_then_250_delivers_exactly_one_message(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    smtp_server.handler.decide = lambda content, n: "451 4.7.1 greylisted" if n == 1 else "250"
    report = _run(repos, smtp_server)
    assert (_states(report), report.exit_code) == ({SUB: "sent"}, 0)
    assert len(smtp_server.received) == 1
    assert smtp_server.handler.data_calls == 2


def test_a_drop_after_data_leaves_sending_and_nothing_is_resent(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    smtp_server.handler.decide = lambda content, n: "drop"
    report = _run(repos, smtp_server)
    assert (_states(report), report.exit_code) == ({SUB: "sending"}, 1)
    assert len(smtp_server.received) == 1
    receipt = _origin_receipt(repos)
    assert receipt["state"] == "sending"
    assert receipt["emails"][0]["state"] == "sending"  # type: ignore[index]

    smtp_server.handler.decide = None
    for options in ({}, {"retry_failed": True}):
        again = _run(repos, smtp_server, **options)
        assert (_states(again), again.exit_code) == ({SUB: "held"}, 1)
    assert smtp_server.handler.data_calls == 1


def _big_csv() -> bytes:
    return item_csv([(f"A-{n:04d}", 1 + n % 3) for n in range(500)], pad=20)


def test_a_refused_second_part_gives_partial_and_only_it_is_sent_next(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    csv = _big_csv()
    repos.add_submission(SUB, csv)
    settings = _settings(repos, max_email_bytes=65536)
    smtp_server.handler.decide = lambda content, n: (
        "550 5.3.4 too big for policy" if b"part-2-of-" in content else "250"
    )
    first = _run(repos, smtp_server, settings)
    assert (_states(first), first.exit_code) == ({SUB: "partial"}, 1)
    parts = _origin_receipt(repos)["emails"]
    assert isinstance(parts, list) and len(parts) >= 3
    assert [p["state"] for p in parts] == ["sent", "failed"] + ["sent"] * (len(parts) - 2)
    assert len(smtp_server.received) == len(parts) - 1

    smtp_server.handler.decide = None
    second = _run(repos, smtp_server, settings)
    assert (_states(second), second.exit_code) == ({SUB: "sent"}, 0)
    assert len(smtp_server.received) == len(parts)
    name, _ = _attachment(smtp_server.received[-1].content)
    assert name == f"{SUB}.part-2-of-{len(parts)}.csv"
    receipt = _origin_receipt(repos)
    assert [p["state"] for p in receipt["emails"]] == ["sent"] * len(parts)  # type: ignore[union-attr]
    assert [p["message_id"] for p in receipt["emails"]][2:] == [p["message_id"] for p in parts][2:]  # type: ignore[union-attr]

    # Every part is a header plus whole orders; together they are the original rows.
    by_name = dict(_attachment(r.content) for r in smtp_server.received)
    header, *rows = csv.splitlines(keepends=True)
    joined = []
    for i in range(1, len(parts) + 1):
        body = by_name[f"{SUB}.part-{i}-of-{len(parts)}.csv"]
        assert body.startswith(header)
        joined += body.splitlines(keepends=True)[1:]
    assert joined == rows


def test_origin_moved_during_the_run_rebases_and_pushes(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    repos.other.remote("origin").pull("main")
    repos.add_submission("2026-11-21-later", item_csv([("B-1", 1)]), in_repo=repos.other)
    report = _run(repos, smtp_server)
    assert (_states(report), report.exit_code) == ({SUB: "sent"}, 0)
    assert _origin_receipt(repos)["state"] == "sent"
    assert repos.origin_file("submissions/2026-11-21-later/manifest.yaml") is not None
    assert repos.work.head.commit.hexsha == repos.origin.commit("main").hexsha


def test_a_run_that_loses_the_race_skips_the_submission(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    repos.other.remote("origin").pull("main")
    theirs = Path(str(repos.other.working_tree_dir)) / RECEIPT
    theirs.write_text(
        f"submission: {SUB}\nstate: sending\nemails:\n- attachment: {SUB}.csv\n  state: sending\n"
        f"  sha256: '{'0' * 64}'\n  rows: 1\n  message_id: <other@brand.example>\n"
        f"  to: {DESTINATION}\n",
        encoding="utf-8",
    )
    repos.other.index.add([str(theirs)])
    repos.other.index.commit(f"retrobatch: sending {SUB}")
    repos.other.remote("origin").push("main").raise_if_error()

    report = _run(repos, smtp_server)
    assert (_states(report), report.exit_code) == ({SUB: "skipped"}, 0)
    assert smtp_server.received == []
    assert _origin_receipt(repos)["emails"][0]["message_id"] == "<other@brand.example>"  # type: ignore[index]
    assert not repos.work.is_dirty(untracked_files=True)


def test_an_unreachable_origin_sends_nothing_and_says_so(
    repos: Repos, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    repos.work.remote("origin").set_url(str(tmp_path / "gone.git"))
    with pytest.raises(OperationFailed, match="cannot read origin main"):
        _run(repos, smtp_server)
    assert smtp_server.received == []
    assert load_receipt(repos.root / "submissions" / SUB, repos.root) == (None, [])


def test_a_push_that_keeps_failing_after_sending_says_what_was_sent(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    repos.add_submission("2026-11-21-next", item_csv([("B-1", 1)]))
    hook = Path(repos.origin.git_dir) / "hooks" / "pre-receive"
    hook.write_text(  # origin accepts `sending` receipts only
        "#!/bin/sh\nwhile read old new ref; do\n"
        '  if git diff "$old" "$new" | grep -q "^+state: sent"; then\n'
        '    echo "receipts are frozen" >&2; exit 1\n  fi\ndone\n',
        encoding="utf-8",
    )
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    report = _run(repos, smtp_server)
    assert report.exit_code == 1
    assert _states(report) == {SUB: "sent", "2026-11-21-next": "not-attempted"}
    (got,) = smtp_server.received
    message_id = _parse(got.content)["Message-ID"]
    assert report.push_failure is not None
    assert f"{SUB}.csv to {DESTINATION} ({message_id})" in report.push_failure
    assert "committed locally" in report.push_failure
    local, _ = load_receipt(repos.root / "submissions" / SUB, repos.root)
    assert local is not None and local.state == "sent"  # never lost
    assert not repos.work.is_dirty()
    assert _origin_receipt(repos)["state"] == "sending"  # what origin has keeps it from resending


def test_an_invalid_submission_does_not_stop_the_others(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    bad = repos.add_submission("2026-11-19-bad", item_csv([("X-1", 1)]))
    manifest = bad / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("12345", "99999"), encoding="utf-8")
    repos.work.index.add([str(manifest)])
    repos.work.index.commit("bad event type")
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    report = _run(repos, smtp_server)
    assert _states(report) == {"2026-11-19-bad": "invalid", SUB: "sent"}
    assert report.exit_code == 1
    invalid = report.outcomes[0]
    assert invalid.findings[0].code == "manifest.unknown-event-type"
    assert len(smtp_server.received) == 1


def test_dry_run_lists_and_sends_nothing_without_smtp(repos: Repos) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 2)]))
    head = repos.work.head.commit.hexsha
    report = _run(repos, None, dry_run=True)
    assert (_states(report), report.exit_code) == ({SUB: "would-send"}, 0)
    (outcome,) = report.outcomes
    assert outcome.to == DESTINATION
    assert [(p.attachment, p.rows) for p in outcome.parts] == [(f"{SUB}.csv", 2)]
    assert repos.work.head.commit.hexsha == head
    assert not (repos.root / RECEIPT).exists()


def test_outbox_writes_the_messages_and_nothing_else(repos: Repos, tmp_path: Path) -> None:
    csv = item_csv([("A-1", 2)])
    repos.add_submission(SUB, csv)
    head = repos.work.head.commit.hexsha
    report = _run(repos, None, outbox=tmp_path / "outbox")
    assert (_states(report), report.exit_code) == ({SUB: "written"}, 0)
    (eml,) = sorted((tmp_path / "outbox").iterdir())
    assert eml.name == f"{SUB}.eml"
    assert _attachment(eml.read_bytes()) == (f"{SUB}.csv", csv)
    assert _parse(eml.read_bytes())["To"] == DESTINATION
    assert repos.work.head.commit.hexsha == head
    assert not (repos.root / RECEIPT).exists()


def test_save_copies_keeps_what_was_sent(
    repos: Repos, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    report = _run(repos, smtp_server, save_copies=tmp_path / "copies")
    assert _states(report) == {SUB: "sent"}
    (copy,) = (tmp_path / "copies").iterdir()
    (got,) = smtp_server.received
    assert _parse(copy.read_bytes())["Message-ID"] == _parse(got.content)["Message-ID"]
    assert _attachment(copy.read_bytes()) == _attachment(got.content)


def test_no_push_keeps_receipts_local(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    report = _run(repos, smtp_server, push=False)
    assert _states(report) == {SUB: "sent"}
    assert repos.origin_file(RECEIPT) is None
    local, _ = load_receipt(repos.root / "submissions" / SUB, repos.root)
    assert local is not None and local.state == "sent"


def test_without_an_smtp_host_something_to_send_is_a_usage_error(repos: Repos) -> None:
    assert _run(repos, None).exit_code == 0  # nothing to send needs no server
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    with pytest.raises(UsageError, match="RETROBATCH_SMTP_HOST"):
        _run(repos, None)


def test_a_receipt_commit_started_run_is_detected(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    assert not started_by_receipt_commit(repos.work, {})
    _run(repos, smtp_server)
    assert started_by_receipt_commit(repos.work, {})
    assert started_by_receipt_commit(repos.work, {"GITHUB_EVENT_NAME": "push"})
    assert not started_by_receipt_commit(repos.work, {"GITHUB_EVENT_NAME": "workflow_dispatch"})


def test_a_partial_whose_split_changed_is_not_sent(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, _big_csv())
    smtp_server.handler.decide = lambda content, n: "550 5.7.1 no" if n == 2 else "250"
    first = _run(repos, smtp_server, _settings(repos, max_email_bytes=65536))
    assert _states(first) == {SUB: "partial"}
    sent = len(smtp_server.received)
    later = _run(repos, smtp_server, _settings(repos, max_email_bytes=90000))
    assert (_states(later), later.exit_code) == ({SUB: "invalid"}, 1)
    assert "no longer match the receipt" in later.outcomes[0].detail
    assert len(smtp_server.received) == sent


def test_uncommitted_changes_are_never_sent(repos: Repos, smtp_server: SmtpServer) -> None:
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]))
    (folder / "conversions.csv").write_bytes(item_csv([("A-9", 1)]))
    with pytest.raises(UsageError, match="uncommitted changes"):
        _run(repos, smtp_server)
    assert smtp_server.received == []


def test_a_file_changed_by_a_rebase_mid_run_is_not_sent_until_the_next_run(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    later = "2026-11-21-later"
    repos.add_submission(later, item_csv([("B-1", 1)]))
    repos.other.remote("origin").pull("main")
    edited = item_csv([("B-0", 1), ("B-1", 1)])
    theirs = Path(str(repos.other.working_tree_dir)) / "submissions" / later / "conversions.csv"
    theirs.write_bytes(edited)
    repos.other.index.add([str(theirs)])
    repos.other.index.commit("Add B-0")
    repos.other.remote("origin").push("main").raise_if_error()

    report = _run(repos, smtp_server)  # A's first push rebases onto the edit of `later`
    assert _states(report) == {SUB: "sent", later: "failed"}
    assert "changed during the run" in str(report.outcomes[1].parts[0].reply)
    assert len(smtp_server.received) == 1

    # Its files changed since the commit the failed attempt started from: the next run sends.
    again = _run(repos, smtp_server, env=smtp_server.env(GITHUB_EVENT_NAME="workflow_dispatch"))
    assert _states(again) == {later: "sent"}
    assert _attachment(smtp_server.received[-1].content)[1] == edited


def test_a_shallow_clone_sends_but_does_not_guess_about_failed_ones(
    repos: Repos, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    smtp_server.handler.decide = lambda content, n: "550 5.7.1 no"
    assert _states(_run(repos, smtp_server)) == {SUB: "failed"}
    smtp_server.handler.decide = None
    repos.add_submission("2026-11-21-later", item_csv([("B-1", 1)]))
    origin_url = f"file://{repos.origin.git_dir}"
    shallow = git.Repo.clone_from(origin_url, tmp_path / "shallow", depth=1)
    assert gitops.changed_in_head(shallow) is None  # its parent is not in the clone
    report = _run(dataclasses.replace(repos, work=shallow), smtp_server)
    assert _states(report) == {SUB: "not-retried", "2026-11-21-later": "sent"}
    assert "shallow" in report.outcomes[0].detail


def test_an_unsendable_cc_leaves_no_receipt(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]), cc=("jürgen@brand.example",))
    head = repos.work.head.commit.hexsha
    report = _run(repos, smtp_server)
    assert (_states(report), report.exit_code) == ({SUB: "invalid"}, 1)
    assert "ASCII" in " ".join(f.message for f in report.outcomes[0].findings)
    assert smtp_server.received == [] and smtp_server.logins == []
    assert repos.origin_file(RECEIPT) is None
    assert repos.work.head.commit.hexsha == head


def test_an_unsendable_sender_stops_the_run_before_any_receipt(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    with pytest.raises(UsageError, match=r"retrobatch\.yaml: sender .* ASCII"):
        _run(repos, smtp_server, _settings(repos, sender="convérsions@brand.example"))
    assert repos.origin_file(RECEIPT) is None and smtp_server.received == []


def test_each_retry_is_one_line(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    smtp_server.handler.decide = lambda content, n: "451 4.7.1 greylisted" if n == 1 else "250"
    said: list[str] = []
    report = _run(repos, smtp_server, notify=said.append)
    assert _states(report) == {SUB: "sent"}
    assert said == [f"{SUB} {SUB}.csv: end of DATA: 451 4.7.1 greylisted; retrying in 0.01 s"]


def test_a_split_batch_claims_one_part_at_a_time(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, _big_csv())
    report = _run(repos, smtp_server, _settings(repos, max_email_bytes=65536))
    assert _states(report) == {SUB: "sent"}
    count = len(report.outcomes[0].parts)
    history = list(reversed(list(repos.origin.iter_commits("main", paths=RECEIPT))))
    assert [c.message.strip() for c in history] == [
        f"retrobatch: sending {SUB} part {n} of {count}" for n in range(1, count + 1)
    ] + [f"retrobatch: sent {SUB}"]
    for n, commit in enumerate(history[:-1], start=1):
        states = [
            p["state"] for p in yaml.safe_load((commit.tree / RECEIPT).data_stream.read())["emails"]
        ]
        assert states == ["sent"] * (n - 1) + ["sending"] + ["pending"] * (count - n)
    final = _origin_receipt(repos)
    assert final["run"]["ended_at"]  # type: ignore[index]
    assert final["run"]["where"].endswith(f":{os.getpid()}")  # type: ignore[index]


def test_the_lease_names_the_github_run(repos: Repos, smtp_server: SmtpServer) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    github = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "brand/submissions",
        "GITHUB_RUN_ID": "42",
    }
    _run(repos, smtp_server, env=smtp_server.env(**github), lease_minutes=30)
    lease = _origin_receipt(repos)["run"]
    assert lease["where"] == "https://github.com/brand/submissions/actions/runs/42"  # type: ignore[index]
    assert "pid" not in lease  # type: ignore[operator]


def test_a_receipt_a_stopped_run_wrote_but_did_not_commit_is_recorded_first(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    smtp_server.handler.decide = lambda content, n: "drop"
    assert _states(_run(repos, smtp_server)) == {SUB: "sending"}
    folder = repos.root / "submissions" / SUB
    left, _ = load_receipt(folder, repos.root)
    assert left is not None
    left.emails[0].state, left.emails[0].smtp_response = "sent", "250 2.0.0 Ok"
    left.state = "sent"
    write_receipt(folder, left)  # what the run knew when it stopped
    again = _run(repos, smtp_server)
    assert (again.outcomes, again.exit_code) == ([], 0)
    assert _origin_receipt(repos)["state"] == "sent"
    assert "recorded after a stop" in repos.origin.commit("main").message
    assert len(smtp_server.received) == 1


def test_an_uncommitted_claim_is_discarded_and_a_hand_edit_stops_the_run(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    _run(repos, smtp_server, dry_run=True)
    folder = repos.root / "submissions" / SUB
    smtp_server.handler.decide = lambda content, n: "550 5.7.1 no"
    assert _states(_run(repos, smtp_server)) == {SUB: "failed"}
    smtp_server.handler.decide = None
    claim, _ = load_receipt(folder, repos.root)
    assert claim is not None and claim.run is not None
    claim.state, claim.emails[0].state, claim.emails[0].error = "sending", "sending", None
    claim.run = dataclasses.replace(claim.run, id="another-run", ended_at=None)
    write_receipt(folder, claim)  # a claim never committed: its part never went
    assert _states(_run(repos, smtp_server, retry_failed=True)) == {SUB: "sent"}
    assert len(smtp_server.received) == 1

    (folder / "receipt.yaml").write_text("state: sent\n", encoding="utf-8")
    with pytest.raises(OperationFailed, match=f"submissions/{SUB}/receipt.yaml: changed but not"):
        _run(repos, smtp_server)


def test_nothing_to_send_needs_no_remote(repos: Repos) -> None:
    repos.work.delete_remote(repos.work.remote("origin"))
    report = _run(repos, None)
    assert (report.outcomes, report.exit_code) == ([], 0)


def test_a_run_whose_receipt_another_run_took_over_sends_no_further_part(
    repos: Repos, smtp_server: SmtpServer
) -> None:
    repos.add_submission(SUB, _big_csv())
    settings = _settings(repos, max_email_bytes=65536)
    theirs = Path(str(repos.other.working_tree_dir))

    def take_over(content: bytes, n: int) -> str:
        """While part 1 is in DATA, someone forces a decision and another run claims."""
        if n == 1:
            repos.other.remote("origin").pull("main")
            folder = theirs / "submissions" / SUB
            receipt, _ = load_receipt(folder, theirs)
            assert receipt is not None and receipt.run is not None
            receipt.run = dataclasses.replace(receipt.run, id="another-run")
            write_receipt(folder, receipt)
            repos.other.index.add([f"submissions/{SUB}/receipt.yaml"])
            repos.other.index.commit("retrobatch: sending (another run)")
            repos.other.remote("origin").push("main").raise_if_error()
        return "250"

    smtp_server.handler.decide = take_over
    report = _run(repos, smtp_server, settings)
    assert smtp_server.handler.data_calls == 1
    (outcome,) = report.outcomes
    assert "another run took the receipt over" in outcome.detail
    first = _origin_receipt(repos)["emails"][0]  # type: ignore[index]
    assert first["state"] == "sent"  # the 250 this run got is recorded all the same
    assert _origin_receipt(repos)["run"]["id"] == "another-run"  # type: ignore[index]
