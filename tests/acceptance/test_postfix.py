"""`retrobatch run` through a real Postfix relay (a private instance: tests/support/postfix.py):
STARTTLS and a SASL login, the message as the mailbox receives it, the SIZE the relay announces,
and a login the relay offers only after TLS. Skipped where Postfix cannot run (not root, or not
installed: `.ci/run` installs it where it can)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
import trustme
import yaml

from retrobatch.cli import main
from support import postfix
from support.runner_env import DESTINATION, SENDER, SETTINGS_YAML, Repos, item_csv

pytestmark = pytest.mark.skipif(postfix.missing() is not None, reason=str(postfix.missing()))

SIZE_LIMIT = 200_000  # the relay's message_size_limit, small to keep the files small
Capture = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def relay() -> Iterator[postfix.Relay]:
    with postfix.relay(trustme.CA(), SIZE_LIMIT) as running:
        yield running


@pytest.fixture
def use(relay: postfix.Relay, monkeypatch: pytest.MonkeyPatch) -> postfix.Relay:
    for name in ("RETROBATCH_AS_OF", "GITHUB_EVENT_NAME", "RETROBATCH_SMTP_SECURITY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in relay.env().items():
        monkeypatch.setenv(name, value)
    return relay


def run(repos: Repos, *args: str) -> int:
    return main(["run", "--repo", str(repos.root), *args])


def receipt(repos: Repos, sub: str) -> dict:  # type: ignore[type-arg]
    text = repos.origin_file(f"submissions/{sub}/receipt.yaml")
    assert text is not None
    return yaml.safe_load(text)  # type: ignore[no-any-return]


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_a_batch_reaches_the_mailbox_byte_for_byte_as_committed(
    repos: Repos, use: postfix.Relay, capsys: Capture
) -> None:
    sub = "2026-11-20-relayed"
    before = len(use.delivered(0))
    data = item_csv([("R-1", 2), ("R-2", 1)])
    repos.add_submission(sub, data)
    assert run(repos) == 0
    assert capsys.readouterr().out == f"{sub}: sent 1 part (3 rows) to {DESTINATION}\n"
    [message] = use.delivered(before + 1)[before:]
    assert message["From"] == SENDER and message["To"] == DESTINATION
    assert message["Cc"] is None and not message["Subject"]
    assert "with ESMTPSA" in str(message["Received"])  # STARTTLS (S) and a login (A)
    [part] = [p for p in message.walk() if not p.is_multipart()]  # no body: the file alone
    assert part.get_filename() == f"{sub}.csv"
    assert part.get_payload(decode=True) == data
    sent = receipt(repos, sub)
    assert sent["state"] == "sent"
    assert sent["emails"][0]["message_id"] == message["Message-ID"]
    assert "sasl_username=" + postfix.USER in use.log_since(0, "sasl_username=")
    assert postfix.PASSWORD not in use.log()


def test_a_batch_over_the_relays_size_is_refused_before_mail_then_split_to_fit(
    repos: Repos, use: postfix.Relay, capsys: Capture
) -> None:
    sub = "2026-11-20-large"
    before = len(use.delivered(0))
    data = item_csv([(f"L-{n}", 2) for n in range(900)], pad=20)  # about 200 KB, 270 KB encoded
    assert 140_000 < len(data) < SIZE_LIMIT < len(data) * 4 // 3
    repos.add_submission(sub, data)
    logged = len(use.log())
    assert run(repos) == 1
    out = capsys.readouterr().out
    assert f"takes at most {SIZE_LIMIT:,} (its SIZE): set max_email_bytes" in out
    assert len(use.delivered(before, timeout=1)) == before
    new = use.log_since(logged, "disconnect from").splitlines()
    [session] = [line for line in new if "disconnect from" in line]
    assert "auth=1" in session and "mail=" not in session  # refused before the envelope

    settings = repos.root / "retrobatch.yaml"
    settings.write_text(SETTINGS_YAML + "max_email_bytes: 150000\n", encoding="utf-8")
    repos.work.index.add([str(settings)])
    repos.work.index.commit("Messages under the relay's limit")
    repos.work.remote("origin").push("main").raise_if_error()
    assert run(repos, "--retry-failed") == 0
    assert f"{sub}: sent 2 parts (1,800 rows)" in capsys.readouterr().out
    parts = use.delivered(before + 2)[before:]
    assert len(parts) == 2
    header, *rows = rows_of(data)
    got = []
    for message in parts:
        [part] = [p for p in message.walk() if not p.is_multipart()]
        payload = part.get_payload(decode=True)
        assert len(message.as_bytes()) < 150_000
        first, *lines = rows_of(payload)
        assert first == header
        got += lines
    assert sorted(got) == sorted(rows)
    assert receipt(repos, sub)["state"] == "sent"


def test_a_login_the_relay_offers_only_after_tls_says_to_use_starttls(
    repos: Repos, use: postfix.Relay, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = "2026-11-20-plain"
    before = len(use.delivered(0))
    monkeypatch.setenv("RETROBATCH_SMTP_SECURITY", "none")
    repos.add_submission(sub, item_csv([("P-1", 1)]))
    assert run(repos) == 1
    out = capsys.readouterr().out
    assert "set RETROBATCH_SMTP_SECURITY=starttls" in out
    assert postfix.PASSWORD not in out
    assert len(use.delivered(before, timeout=1)) == before
    assert receipt(repos, sub)["state"] == "failed"
