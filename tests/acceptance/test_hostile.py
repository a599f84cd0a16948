"""A pull request written by an attacker: each case of issue 9's "What was seen", as a test.

`check` is the gate and `run` executes with the secrets loaded, so every case is tried against
both: a finding (or one line from `run`), nothing read or written outside the folder, nothing
sent that the allow-list did not approve, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from retrobatch.cli import main
from support.runner_env import Repos, SmtpServer, item_csv, write_submission

SUB = "2026-11-20-checkout-outage"
Capture = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("RETROBATCH_", "GITHUB_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def smtp(smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> SmtpServer:
    for name, value in smtp_server.env().items():
        monkeypatch.setenv(name, value)
    return smtp_server


def _cli(repos: Repos, *args: str) -> int:
    return main([*args, "--repo", str(repos.root)])


def _commit_all(repos: Repos, message: str = "hostile change") -> None:
    repos.work.git.add(A=True)
    repos.work.index.commit(message)
    repos.work.remote("origin").push("main").raise_if_error()


def _pull_request(repos: Repos) -> str:
    """Start a branch from main as it is; returns the base commit for `check --base`."""
    base = repos.work.head.commit.hexsha
    repos.work.git.checkout("-b", "hostile")
    return base


# --- 1-3: links and special files ------------------------------------------------------------


def test_a_receipt_tmp_linked_outside_is_an_error_and_run_writes_nothing_through_it(
    repos: Repos, smtp: SmtpServer, tmp_path: Path, capsys: Capture
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    base = repos.work.head.commit.hexsha
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    (folder / "receipt.yaml.tmp").symlink_to(victim)
    assert _cli(repos, "check", "--base", base) == 1
    out = capsys.readouterr().out
    assert f"submissions/{SUB}/receipt.yaml.tmp" in out and "[repo.special-file]" in out
    _commit_all(repos)
    assert _cli(repos, "run") == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and f"{SUB}: invalid, not sent" in out
    assert smtp.received == []
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not (folder / "receipt.yaml").exists()


def test_a_receipt_linked_to_itself_is_an_error_not_delivered(
    repos: Repos, smtp: SmtpServer, capsys: Capture
) -> None:
    base = repos.work.head.commit.hexsha
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    (folder / "receipt.yaml").symlink_to("receipt.yaml")
    assert _cli(repos, "check", "--base", base) == 1
    out = capsys.readouterr().out
    assert f"submissions/{SUB}/receipt.yaml: a symbolic link" in out
    _commit_all(repos)
    assert _cli(repos, "run") == 1
    assert f"{SUB}: invalid, not sent" in capsys.readouterr().out
    assert smtp.received == []


def test_a_manifest_linked_outside_the_repository_is_never_read(
    repos: Repos, tmp_path: Path, capsys: Capture
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("aws_key: AKIA-never-printed\n", encoding="utf-8")
    folder = repos.root / "submissions" / SUB
    folder.mkdir()
    (folder / "manifest.yaml").symlink_to(secret)
    (folder / "conversions.csv").write_bytes(item_csv([("A-1", 1)]))
    assert _cli(repos, "check") == 1
    out = capsys.readouterr().out
    assert "AKIA" not in out and "aws_key" not in out
    assert f"submissions/{SUB}/manifest.yaml: a symbolic link" in out


def test_a_linked_submission_folder_is_refused_by_check_and_run(
    repos: Repos, smtp: SmtpServer, tmp_path: Path, capsys: Capture
) -> None:
    outside = write_submission(tmp_path / "outside" / SUB, item_csv([("A-1", 1)]))
    (repos.root / "submissions" / SUB).symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    assert _cli(repos, "check") == 1
    assert f"submissions/{SUB}: a symbolic link" in capsys.readouterr().out
    assert _cli(repos, "check", str(repos.root / "submissions" / SUB)) == 1
    assert "[repo.special-file]" in capsys.readouterr().out
    _commit_all(repos)
    assert _cli(repos, "run") == 1
    assert f"{SUB}: invalid, not sent" in capsys.readouterr().out
    assert smtp.received == []
    assert sorted(p.name for p in outside.iterdir()) == before


def test_a_fifo_is_refused_without_being_opened(repos: Repos, capsys: Capture) -> None:
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    os.mkfifo(folder / "receipt.yaml")  # opening it for reading would block forever
    assert _cli(repos, "check") == 1
    assert f"submissions/{SUB}/receipt.yaml: a FIFO" in capsys.readouterr().out
    assert _cli(repos, "run", "--dry-run") == 1
    assert f"{SUB}: invalid, not sent" in capsys.readouterr().out


def test_a_link_deep_inside_a_folder_is_refused(repos: Repos, capsys: Capture) -> None:
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "loop").symlink_to("../../a", target_is_directory=True)
    assert _cli(repos, "check") == 1
    assert f"submissions/{SUB}/a/b/loop: a symbolic link" in capsys.readouterr().out


# --- 8, 10: CSV that stalls or fills memory ---------------------------------------------------


def _newline_cell_csv(newlines: int) -> bytes:
    """One valid order, then an order whose quoted Category holds `newlines` line breaks."""
    good = item_csv([("A-1", 1)])
    row = good.decode().splitlines()[1]
    cells = row.split(",")
    cells[3], cells[8] = "A-2", '"' + "x\n" * newlines + '"'
    return good + (",".join(cells) + "\n").encode()


def test_a_cell_with_80000_line_breaks_is_read_in_one_pass(tmp_path: Path) -> None:
    from retrobatch.csvfile.records import RecordReader
    from retrobatch.send.batching import split_batch

    path = tmp_path / "x.csv"
    path.write_bytes(_newline_cell_csv(80_000))
    with path.open("rb") as fh:
        records = list(RecordReader(fh))
    assert [(r.first, r.last) for r in records] == [(1, 1), (2, 2), (3, 80_003)]
    split = split_batch(path, "x.csv", SUB, "item-level", 10 * 1024 * 1024, lambda _n, n: n)
    assert [p.rows for p in split.parts] == [2]


def test_run_dry_run_reads_a_cell_of_80000_line_breaks(repos: Repos, capsys: Capture) -> None:
    repos.add_submission(SUB, _newline_cell_csv(80_000))
    assert _cli(repos, "run", "--dry-run") == 1  # check refuses the cell; nothing stalls
    out = capsys.readouterr().out
    assert out.startswith(f"{SUB}: invalid, not sent") and out.count("\n") == 1


def test_a_line_longer_than_the_limit_stops_the_reader(
    repos: Repos, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    from retrobatch.csvfile import stream as csvstream

    monkeypatch.setattr(csvstream, "MAX_RECORD_BYTES", 1 << 20)
    repos.add_submission(SUB, item_csv([("A-1", 1)]) + b"x" * (3 << 20), push=False)
    assert _cli(repos, "check") == 1
    out = capsys.readouterr().out
    assert f"submissions/{SUB}/conversions.csv:3: line 3 runs past 1 MiB" in out
    assert "[csv.record-too-long]" in out


def test_the_record_reader_stops_at_its_limit(tmp_path: Path) -> None:
    from retrobatch.csvfile.records import RecordReader

    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n1,2\n" + b"y" * 5000 + b"\n3,4\n")
    with path.open("rb") as fh:
        reader = RecordReader(fh, limit=1000)
        assert [r.raw for r in reader] == [b"a,b\n", b"1,2\n"]
    assert reader.too_long == 3


# --- 9: YAML that crashed ---------------------------------------------------------------------

MANIFEST = (
    "id: {sub}\ntemplate: item-level\nevent_type: {event_type}\nfile: conversions.csv\n"
    "description: {description}\nrequested_by: ana@brand.example\n"
)


@pytest.mark.parametrize(
    ("event_type", "description", "line", "says"),
    [
        ("12345", "a bell \a rings", 5, "control character U+0007"),
        ("12345", "a NUL \0 byte", 5, "control character U+0000"),
        ("9" * 5001, "d", 3, "an integer of 5,001 characters"),
        ("12345", "[" * 5000 + "]" * 5000, 5, "nest deeper than 32 levels"),
    ],
    ids=["bel", "nul", "5001-digits", "5000-levels"],
)
def test_hostile_yaml_in_a_manifest_is_a_finding_in_check_and_one_line_in_run(
    repos: Repos, capsys: Capture, event_type: str, description: str, line: int, says: str
) -> None:
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    text = MANIFEST.format(sub=SUB, event_type=event_type, description=description)
    (folder / "manifest.yaml").write_text(text, encoding="utf-8")
    assert _cli(repos, "check") == 1
    out = capsys.readouterr().out
    assert f"submissions/{SUB}/manifest.yaml:{line}: " in out and says in out
    assert "[manifest.syntax]" in out
    assert _cli(repos, "run", "--dry-run") == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and says in out


def test_hostile_yaml_in_the_settings_is_one_line_exit_2(repos: Repos, capsys: Capture) -> None:
    settings = repos.root / "retrobatch.yaml"
    settings.write_text(settings.read_text() + "max_email_bytes: " + "7" * 5001 + "\n")
    assert _cli(repos, "check") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "retrobatch.yaml:" in err and "5,001 characters" in err


@pytest.mark.parametrize("where", ["manifest", "settings", "receipt"])
def test_a_yaml_file_past_its_size_is_refused_unread(
    repos: Repos, capsys: Capture, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A 20 MB description took 7 s to parse: past its limit a file is one finding, read no
    further than the limit (lowered here so that the test writes kilobytes)."""
    from retrobatch.repository import yamldoc

    monkeypatch.setattr(yamldoc, "MAX_DOCUMENT_BYTES", 4096)
    monkeypatch.setattr(yamldoc, "MAX_RECEIPT_BYTES", 4096)
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    padding = "# " + "x" * 5000 + "\n"
    if where == "manifest":
        path = folder / "manifest.yaml"
    elif where == "settings":
        path = repos.root / "retrobatch.yaml"
    else:
        path = folder / "receipt.yaml"
        path.write_text(f"submission: {SUB}\nstate: sent\nemails: []\n", encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8") + padding, encoding="utf-8")
    code = _cli(repos, "check", str(folder))
    out, err = capsys.readouterr()
    said = "larger than 4,096 bytes, more than any such file needs: not read"
    assert said in out + err and "Traceback" not in out + err
    assert code == (2 if where == "settings" else 1)
    rel = path.relative_to(repos.root).as_posix()
    assert f"{rel}: cannot read: {said}" in out + err


# --- 6: changes a reviewer must see -----------------------------------------------------------


def _settings_change(repos: Repos, text: str) -> str:
    base = _pull_request(repos)
    (repos.root / "retrobatch.yaml").write_text(text, encoding="utf-8")
    repos.work.git.add(A=True)
    repos.work.index.commit("settings")
    return base


def test_destination_cc_domain_and_sender_changes_are_warnings_with_old_and_new(
    repos: Repos, capsys: Capture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from support.runner_env import SETTINGS_YAML

    changed = (
        SETTINGS_YAML.replace("conversions@brand.example", "noreply@brand.example")
        .replace("a1b2c3@inbound.example", "attacker@inbound.example")
        .replace("[brand.example]", "[brand.example, evil.example]")
        .replace('  "12345"', '  "777": {name: New, address: new@inbound.example}\n  "12345"')
    )
    base = _settings_change(repos, changed)
    assert _cli(repos, "check", "--base", base) == 0
    text = capsys.readouterr().out
    expected = [
        "retrobatch.yaml:2: warning: sender changed: conversions@brand.example -> "
        "noreply@brand.example",
        "retrobatch.yaml:5: warning: destination 12345 (Online Sale) redirected: "
        "a1b2c3@inbound.example -> attacker@inbound.example",
        "retrobatch.yaml:4: warning: destination 777 (New) added: batches of event type 777 "
        "will be e-mailed to new@inbound.example",
        "retrobatch.yaml:6: warning: cc_allowed_domains adds evil.example",
    ]
    for line in expected:
        assert line in text, text
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    assert _cli(repos, "check", "--base", base, "--format", "github") == 0
    github = capsys.readouterr().out
    assert (
        "::warning file=retrobatch.yaml,line=5,title=config.reviewed-change::destination 12345 "
        "(Online Sale) redirected: a1b2c3@inbound.example -> attacker@inbound.example" in github
    )
    assert "line=6,title=config.reviewed-change::cc_allowed_domains adds evil.example" in github


def test_a_removed_destination_is_a_warning(repos: Repos, capsys: Capture) -> None:
    from support.runner_env import SETTINGS_YAML

    without = SETTINGS_YAML.replace(
        '  "12345": {name: Online Sale, address: a1b2c3@inbound.example}\n',
        '  "9": {name: Other, address: other@inbound.example}\n',
    )
    base = _settings_change(repos, without)
    _cli(repos, "check", "--base", base)
    out = capsys.readouterr().out
    assert "destination 12345 (Online Sale) removed: was a1b2c3@inbound.example" in out


def test_github_format_warns_while_codeowners_has_only_placeholders(
    repos: Repos, capsys: Capture
) -> None:
    from retrobatch import scaffold

    codeowners = repos.root / ".github" / "CODEOWNERS"
    codeowners.parent.mkdir()
    codeowners.write_text((scaffold.skeleton() / "CODEOWNERS").read_text(), encoding="utf-8")
    assert _cli(repos, "check", "--format", "github") == 0
    out = capsys.readouterr().out
    assert out.count("title=config.no-owner::") == 2
    assert "retrobatch.yaml has no real owner in .github/CODEOWNERS" in out
    codeowners.write_text("/retrobatch.yaml @acme/owners\n/.github/ @acme/owners\n")
    assert _cli(repos, "check", "--format", "github") == 0
    assert "config.no-owner" not in capsys.readouterr().out
    codeowners.write_text("* @your-org/conversion-owners\n")
    _cli(repos, "check", "--format", "github")
    assert capsys.readouterr().out.count("title=config.no-owner::") == 2


# --- the push token goes to the GitHub host only ---------------------------------------------


def _credential_fill(repo: Path, host: str, env: dict[str, str]) -> str:
    import subprocess

    done = subprocess.run(
        ["git", "credential", "fill"],
        cwd=repo,
        input=f"protocol=https\nhost={host}\npath=o/r.git\n\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return done.stdout


def test_the_credential_helper_answers_only_for_the_github_host(tmp_path: Path) -> None:
    import subprocess

    import git
    import yaml

    from retrobatch import scaffold

    action = yaml.safe_load((scaffold.skeleton() / scaffold.SETUP_ACTION).read_text())
    (step,) = [s for s in action["runs"]["steps"] if "credential" in s.get("run", "")]
    repo = tmp_path / "clone"
    git.Repo.init(repo)
    env = {
        "HOME": str(tmp_path),
        "PATH": os.environ["PATH"],
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "GITHUB_SERVER_URL": "https://github.com",
        "RETROBATCH_PUSH_TOKEN": "ghs_token_for_github_only",
    }
    subprocess.run(["bash", "-c", step["run"]], cwd=repo, env=env, check=True, timeout=60)
    assert "password=ghs_token_for_github_only" in _credential_fill(repo, "github.com", env)
    for host in ("evil.example", "github.com.evil.example", "gist.github.com"):
        assert "ghs_token" not in _credential_fill(repo, host, env)


# --- 4, 5: newlines and addresses that say one thing and send another ------------------------


def test_cc_that_parses_to_another_address_is_an_error_and_never_reaches_rcpt(
    repos: Repos, smtp: SmtpServer, capsys: Capture
) -> None:
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), cc=("x(@brand.example",))
    assert _cli(repos, "check") == 1
    out = capsys.readouterr().out
    assert f"submissions/{SUB}/manifest.yaml:7: cc: 'x(@brand.example' is not of the form" in out
    assert _cli(repos, "run") == 1
    assert f"{SUB}: invalid, not sent" in capsys.readouterr().out
    assert smtp.received == [] and not (folder / "receipt.yaml").exists()


def test_a_destination_with_a_trailing_newline_is_refused(repos: Repos, capsys: Capture) -> None:
    settings = repos.root / "retrobatch.yaml"
    settings.write_text(
        settings.read_text().replace(
            "address: a1b2c3@inbound.example}", 'address: "a1b2c3@inbound.example\\n"}'
        )
    )
    assert _cli(repos, "check") == 2
    err = capsys.readouterr().err
    assert "retrobatch.yaml:4: " in err and "destinations" in err and err.count("\n") == 1


def test_message_building_refuses_a_line_break_in_any_header_value() -> None:
    from retrobatch.send.message import Envelope, UnsafeHeader, build_message

    good = Envelope("conversions@brand.example", "a1b2c3@inbound.example", ("f@brand.example",))
    build_message(good, "x.csv", b"a\n", "<1@brand.example>")
    bad = [
        (Envelope("conversions@brand.example", "a1b2c3@inbound.example\n"), "x.csv", "<1@b>"),
        (Envelope("conversions@brand.example\r", "a1b2c3@inbound.example"), "x.csv", "<1@b>"),
        (
            Envelope(good.sender, good.to, ("f@brand.example\nBcc: e@evil.example",)),
            "x.csv",
            "<1@b>",
        ),
        (good, "x.csv\nX-Injected: 1", "<1@b>"),
        (good, "x.csv", "<1@b>\r\nBcc: e@evil.example"),
        (Envelope(good.sender, "x(@inbound.example"), "x.csv", "<1@b>"),
    ]
    for envelope, attachment, message_id in bad:
        with pytest.raises(UnsafeHeader):
            build_message(envelope, attachment, b"a\n", message_id)


# --- 7: secrets echoed back -------------------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["s3cret-Pa55word", "two  spaces\tand a tab", "p@ss/w+rd=&?", "ünïcode pässwörd"]
)
def test_every_echoed_form_of_the_password_is_scrubbed(password: str) -> None:
    import base64
    from urllib.parse import quote, quote_plus

    from retrobatch.send.mailer import Mailer, SmtpConfig

    user = "apikey"
    mailer = Mailer(SmtpConfig("127.0.0.1", 25, "none", user, password))

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    forms = [
        password,
        " ".join(password.split()),
        password.replace(" ", "\n "),
        b64(password),
        b64(password).rstrip("="),
        b64(f"\0{user}\0{password}"),
        b64(f"\0{user}\0{password}").rstrip("="),
        quote(password, safe=""),
        quote_plus(password),
    ]
    for form in forms:
        shown = mailer.scrub(f"535 5.7.8  echo: {form}  end")
        assert shown == "535 5.7.8 echo: *** end", (form, shown)


def test_a_server_echoing_the_unpadded_base64_password_leaks_nothing(
    repos: Repos, smtp: SmtpServer, capsys: Capture
) -> None:
    import base64

    from support.runner_env import SMTP_PASSWORD, SMTP_USER

    plain = base64.b64encode(f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode()).decode().rstrip("=")
    login = base64.b64encode(SMTP_PASSWORD.encode()).decode().rstrip("=")
    smtp.handler.decide = lambda content, n: f"554 5.7.1 saw {plain}  and\t{login}"
    repos.add_submission(SUB, item_csv([("A-1", 1)]))
    assert _cli(repos, "run") == 1
    out = capsys.readouterr().out
    history = repos.origin.git.log("-p", "--all")
    assert "554 5.7.1 saw *** and ***" in out and "saw *** and ***" in history
    for text in (out, history):
        assert plain not in text and login not in text and login[:-2] not in text


def test_an_impact_error_shows_its_status_and_message_only(httpserver: HTTPServer) -> None:
    from werkzeug import Request, Response

    from retrobatch.reconcile.api import Credentials, ImpactApiError, ImpactClient, RetryPolicy

    token = "tok-SECRET-123"

    def echo(request: Request) -> Response:
        said = f"Authorization: {request.headers.get('Authorization')} token {token}"
        body = json.dumps({"Message": f"Invalid page size (you sent {token})", "Echo": said})
        return Response(body, status=f"400 {said}", content_type="application/json")

    httpserver.expect_request(re.compile(r"^/.*")).respond_with_handler(echo)
    api = ImpactClient(
        Credentials("IRsid", token), httpserver.url_for("/"), retry=RetryPolicy(sleep=print)
    )
    with api, pytest.raises(ImpactApiError) as caught:
        api.list_submissions(dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    text = str(caught.value)
    assert text.endswith(": HTTP 400 (Invalid page size (you sent ***))")
    assert token not in text and "Authorization" not in text and "Basic" not in text


def test_run_refuses_a_link_recorded_in_the_commit_even_if_the_checkout_made_a_file(
    repos: Repos, smtp: SmtpServer, capsys: Capture
) -> None:
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    # As a checkout with core.symlinks=false leaves it: a plain file holding the link's target.
    (folder / "receipt.yaml.tmp").write_text("../../.git/config", encoding="utf-8")
    blob = repos.work.git.hash_object("-w", str(folder / "receipt.yaml.tmp"))
    rel = f"submissions/{SUB}/receipt.yaml.tmp"
    repos.work.git.update_index("--add", "--cacheinfo", f"120000,{blob},{rel}")
    repos.work.index.update()
    repos.work.git.commit("-m", "a link in the commit")
    assert repos.work.git.ls_tree("HEAD", rel).startswith("120000")
    assert _cli(repos, "run") == 1
    assert f"{SUB}: invalid, not sent: 1 error, first {rel}: a symbolic link" in (
        capsys.readouterr().out
    )
    assert smtp.received == []


def test_a_stray_file_or_folder_where_run_writes_is_an_error(
    repos: Repos, smtp: SmtpServer, capsys: Capture
) -> None:
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    (folder / "receipt.yaml.tmp").mkdir()
    (folder / "receipt.yaml.tmp" / "x").write_text("x", encoding="utf-8")
    (folder / "README.md").write_text("why this batch\n", encoding="utf-8")
    assert _cli(repos, "check") == 1
    out = capsys.readouterr().out
    assert f"submissions/{SUB}/receipt.yaml.tmp: a submission folder holds only" in out
    assert "README.md" not in out
    _commit_all(repos)
    assert _cli(repos, "run") == 1
    assert f"{SUB}: invalid, not sent" in capsys.readouterr().out
    assert smtp.received == []


def test_settings_linked_outside_the_repository_are_not_read(
    repos: Repos, tmp_path: Path, capsys: Capture
) -> None:
    outside = tmp_path / "elsewhere.yaml"
    settings = repos.root / "retrobatch.yaml"
    outside.write_text(settings.read_text(), encoding="utf-8")
    settings.unlink()
    settings.symlink_to(outside)
    assert _cli(repos, "check") == 2
    err = capsys.readouterr().err
    assert err == "retrobatch.yaml: is a symbolic link: it must be a regular file [config.syntax]\n"


def test_check_base_refuses_a_link_recorded_in_the_commit(repos: Repos, capsys: Capture) -> None:
    base = _pull_request(repos)
    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    (folder / "receipt.yaml").write_text("../../.git/config", encoding="utf-8")
    blob = repos.work.git.hash_object("-w", str(folder / "receipt.yaml"))
    rel = f"submissions/{SUB}/receipt.yaml"
    repos.work.git.update_index("--add", "--cacheinfo", f"120000,{blob},{rel}")
    repos.work.git.commit("-m", "a receipt that git records as a link")
    assert _cli(repos, "check", "--base", base) == 1
    assert f"{rel}: a symbolic link" in capsys.readouterr().out


def test_submissions_itself_linked_elsewhere_is_refused(
    repos: Repos, tmp_path: Path, capsys: Capture
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (repos.root / "submissions").rename(elsewhere)
    (repos.root / "submissions").symlink_to(elsewhere, target_is_directory=True)
    assert _cli(repos, "check") == 1
    assert "submissions: a symbolic link" in capsys.readouterr().out
    assert _cli(repos, "run", "--dry-run") == 1
    assert capsys.readouterr().out.startswith("submissions: invalid, not sent")


def test_a_socket_is_refused(
    repos: Repos, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    folder = repos.add_submission(SUB, item_csv([("A-1", 1)]), push=False)
    monkeypatch.chdir(folder)  # AF_UNIX paths are short: bind relative to the folder
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("s")
        assert _cli(repos, "check") == 1
    assert f"submissions/{SUB}/s: a socket" in capsys.readouterr().out
