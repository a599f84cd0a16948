"""The runner killed (SIGKILL) at every step of its protocol, then recovered as a person would.

The runner is a real subprocess against the aiosmtpd server (STARTTLS, AUTH) and a bare origin.
Git hooks in the clone (post-commit) and in origin (post-receive) stop it at a commit or a push,
and the SMTP handler at MAIL, RCPT or DATA; the test then kills its process group. Recovery is
what the output says: `run`, `resolve` (the person looks for the Message-ID on the server, as
they would in impact.com), `run --retry-failed`. After each: no part acknowledged twice, every
part acknowledged once, origin's receipt agrees with the server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path

import git
import pytest
import yaml

from support.runner_env import Hold, Received, Repos, SmtpServer, item_csv

SUB = "2026-11-20-checkout-outage"
RECEIPT = f"submissions/{SUB}/receipt.yaml"
WAIT = 60.0  # generous: the machine may be loaded

HOOK = """#!/bin/sh
dir='{marks}'
name=$(basename "$0")
subject=
if [ "$name" = post-receive ]; then
  while read -r old new ref; do
    if [ "$ref" = refs/heads/main ]; then subject=$(git log -1 --format=%s "$new"); fi
  done
else
  subject=$(git log -1 --format=%s HEAD)
fi
[ -f "$dir/target" ] || exit 0
want=$(cat "$dir/target")
case "$name|$subject" in
  "$want"*) echo "$subject" > "$dir/reached"; while :; do sleep 0.05; done ;;
esac
exit 0
"""


def _hooks(repos: Repos, marks: Path) -> None:
    script = HOOK.format(marks=marks)
    for hook in (
        Path(repos.work.git_dir) / "hooks" / "post-commit",
        Path(repos.origin.git_dir) / "hooks" / "post-receive",
    ):
        hook.write_text(script, encoding="utf-8")
        hook.chmod(0o755)


def _env(server: SmtpServer) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RETROBATCH_", "GITHUB_", "GIT_"))
    }
    return {**env, **server.env()}


def _start(root: Path, server: SmtpServer, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "retrobatch.cli", *args, "--repo", str(root)],
        env=_env(server),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _cli(root: Path, server: SmtpServer, *args: str) -> subprocess.CompletedProcess[str]:
    proc = _start(root, server, *args)
    out, err = proc.communicate(timeout=WAIT * 2)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended before the kill point: {out}{err}")
        assert time.monotonic() < deadline, "the kill point was never reached"
        time.sleep(0.02)


def _kill(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _message_id(content: bytes) -> str:
    return str(BytesParser(policy=policy.SMTP).parsebytes(content)["Message-ID"])


def _attachment_name(content: bytes) -> str:
    message = BytesParser(policy=policy.default).parsebytes(content)
    (part,) = message.iter_attachments()  # type: ignore[attr-defined]
    return str(part.get_filename())


def strict_headers(content: bytes) -> dict[str, list[str]]:
    """The top-level header fields, checked as a strict receiver would (RFC 5322, RFC 2045)."""
    head, sep, _ = content.partition(b"\r\n\r\n")
    assert sep, "no blank line after the header"
    assert head.isascii(), "a header holds a non-ASCII byte"
    lines = head.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    assert b"\n" not in head.replace(b"\r\n", b""), "a bare line feed in the header"
    fields: dict[str, list[str]] = {}
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            name = list(fields)[-1]
            fields[name][-1] += line.decode()
            continue
        name, colon, value = line.decode().partition(":")
        assert colon and re.fullmatch(r"[!-9;-~]+", name), f"not a header field: {line!r}"
        fields.setdefault(name.lower(), []).append(value.strip())
    for name in ("from", "to", "date", "message-id", "mime-version", "content-type"):
        assert len(fields.get(name, [])) == 1, f"{name}: {fields.get(name)}"
    assert fields["mime-version"] == ["1.0"]
    assert "subject" not in fields
    assert "," not in fields["to"][0]  # only the event type's address
    assert fields["content-type"][0].startswith("multipart/mixed;")
    return fields


@dataclass
class Batch:
    """A submission split into two parts, merged and pushed, with hooks installed."""

    repos: Repos
    server: SmtpServer
    marks: Path
    parts: int

    @property
    def root(self) -> Path:
        return self.repos.root

    def stop_at(self, hook: str, subject: str) -> None:
        (self.marks / "target").write_text(f"{hook}|{subject}", encoding="utf-8")

    def acknowledged(self) -> dict[str, list[Received]]:
        by_name: dict[str, list[Received]] = {}
        for got in self.server.received:
            by_name.setdefault(_attachment_name(got.content), []).append(got)
        return by_name

    def recover(self, root: Path) -> list[str]:
        """What a person does, step by step, as the output says; the commands run."""
        done: list[str] = []
        args: tuple[str, ...] = ("run",)
        for _ in range(8):
            result = _cli(root, self.server, *args)
            done.append(" ".join(args))
            text = result.stdout + result.stderr
            assert "Traceback" not in text
            if result.returncode == 0:
                if args[0] == "run" and "--retry-failed" in result.stdout:
                    args = ("run", "--retry-failed")  # a failed one listed, not retried
                    continue
                if args[0] == "resolve":
                    args = ("run", "--retry-failed") if "--retry-failed" in text else ("run",)
                    continue
                return done
            assert result.returncode == 1, text
            asked = re.search(
                r"\((<[^>]+>)\) may have been delivered: look for it in impact.com, then "
                r"retrobatch resolve (\S+)(?: --part (\d+))? --sent\|--not-sent",
                result.stdout,
            )
            assert asked, f"exit 1 without naming a command: {text}"
            message_id, sub, part = asked.groups()
            seen = any(_message_id(r.content) == message_id for r in self.server.received)
            args = ("resolve", sub, "--sent" if seen else "--not-sent")
            if part:
                args += ("--part", part)
        pytest.fail(f"no end to recovery: {done}")

    def check_agreement(self) -> None:
        acknowledged = self.acknowledged()
        assert sorted(acknowledged) == [f"{SUB}.part-{n}-of-2.csv" for n in (1, 2)]
        assert all(len(v) == 1 for v in acknowledged.values()), "a part acknowledged twice"
        text = self.repos.origin_file(RECEIPT)
        assert text is not None
        receipt = yaml.safe_load(text)
        assert receipt["state"] == "sent"
        for part in receipt["emails"]:
            (got,) = acknowledged[part["attachment"]]
            assert part["state"] == "sent"
            assert part["message_id"] == _message_id(got.content)
        for got in self.server.received:
            strict_headers(got.content)


@pytest.fixture
def batch(repos: Repos, smtp_server: SmtpServer, tmp_path: Path) -> Batch:
    settings = repos.root / "retrobatch.yaml"
    settings.write_text(settings.read_text() + "max_email_bytes: 65536\n", encoding="utf-8")
    repos.work.index.add([str(settings)])
    repos.work.index.commit("Smaller messages")
    csv = item_csv([(f"A-{n:04d}", 1 + n % 3) for n in range(330)], pad=20)
    repos.add_submission(SUB, csv)
    marks = tmp_path / "marks"
    marks.mkdir()
    _hooks(repos, marks)
    return Batch(repos, smtp_server, marks, 2)


GIT_POINTS = {
    "claim committed": ("post-commit", f"retrobatch: sending {SUB} part 1 of 2"),
    "claim pushed": ("post-receive", f"retrobatch: sending {SUB} part 1 of 2"),
    "part 1 recorded, part 2 claimed": ("post-commit", f"retrobatch: sending {SUB} part 2 of 2"),
    "between parts": ("post-receive", f"retrobatch: sending {SUB} part 2 of 2"),
    "final commit": ("post-commit", f"retrobatch: sent {SUB}"),
    "final push": ("post-receive", f"retrobatch: sent {SUB}"),
}
SMTP_POINTS = {
    "MAIL of part 1": Hold("MAIL"),
    "RCPT of part 1": Hold("RCPT"),
    "DATA of part 1": Hold("DATA"),
    "DATA of part 2": Hold("DATA", 2),
}


@pytest.mark.parametrize("point", list(GIT_POINTS) + list(SMTP_POINTS) + ["after the last 250"])
def test_killed_at_any_step_then_recovered_sends_each_part_once(
    batch: Batch, point: str, tmp_path: Path
) -> None:
    hold: Hold | None = None
    if point in GIT_POINTS:
        batch.stop_at(*GIT_POINTS[point])
    elif point in SMTP_POINTS:
        template = SMTP_POINTS[point]
        hold = Hold(template.command, template.number)
    else:
        hold = Hold("DATA", 2, after=True)
    batch.server.handler.hold = hold
    proc = _start(batch.root, batch.server, "run")
    if hold is None:
        _wait_for(batch.marks / "reached", proc)
    else:
        assert hold.reached.wait(WAIT), "the kill point was never reached"
    _kill(proc)
    (batch.marks / "target").unlink(missing_ok=True)
    if hold is not None:
        hold.release.set()  # the server finishes what it was doing; DATA is then queued
    root = batch.root
    if point == "after the last 250":  # the clone may be mid-commit: recover as CI would
        fresh = git.Repo.clone_from(str(batch.repos.origin.git_dir), tmp_path / "fresh")
        with fresh.config_writer() as cfg:
            cfg.set_value("user", "name", "Ana")
            cfg.set_value("user", "email", "ana@brand.example")
        root = Path(str(fresh.working_tree_dir))
    batch.recover(root)
    batch.check_agreement()
    final = _cli(root, batch.server, "run", "--retry-failed")
    assert (final.returncode, final.stdout) == (0, "nothing to send\n")


def test_a_clone_reused_after_a_crash_pushes_its_receipt_first(batch: Batch) -> None:
    batch.stop_at(*GIT_POINTS["final commit"])
    proc = _start(batch.root, batch.server, "run")
    _wait_for(batch.marks / "reached", proc)
    _kill(proc)
    (batch.marks / "target").unlink()
    assert yaml.safe_load(batch.repos.origin_file(RECEIPT) or "")["state"] == "sending"
    again = _cli(batch.root, batch.server, "run")
    assert (again.returncode, again.stdout) == (0, "nothing to send\n")
    assert yaml.safe_load(batch.repos.origin_file(RECEIPT) or "")["state"] == "sent"
    batch.check_agreement()


@pytest.mark.parametrize("round_", range(3))
def test_two_runners_started_together_send_each_part_once(batch: Batch, round_: int) -> None:
    other = batch.repos.other
    other.remote("origin").pull("main")
    other_root = Path(str(other.working_tree_dir))
    first = _start(batch.root, batch.server, "run")
    second = _start(other_root, batch.server, "run")
    results = [p.communicate(timeout=WAIT * 2) for p in (first, second)]
    codes = [first.returncode, second.returncode]
    outs = [out for out, _ in results]
    assert codes == [0, 0], results
    assert sorted(" skipped" in out or ": sent 2 parts" in out for out in outs) == [True, True]
    assert sum(": sent 2 parts" in out for out in outs) == 1, outs
    batch.check_agreement()


def test_resolve_during_data_is_refused_and_forced_the_250_wins(batch: Batch) -> None:
    hold = Hold("DATA", 2)
    batch.server.handler.hold = hold
    proc = _start(batch.root, batch.server, "run")
    assert hold.reached.wait(WAIT)
    person = batch.repos.other
    person.remote("origin").pull("main")
    person_root = Path(str(person.working_tree_dir))
    refused = _cli(person_root, batch.server, "resolve", SUB, "--part", "2", "--not-sent")
    assert refused.returncode == 1
    assert "may still be sending" in refused.stderr and "--force" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    forced = _cli(person_root, batch.server, "resolve", SUB, "--part", "2", "--not-sent", "--force")
    assert forced.returncode == 0, forced.stderr
    hold.release.set()
    out, err = proc.communicate(timeout=WAIT * 2)
    assert proc.returncode == 0, out + err
    assert "the server accepted it" in out and "resolved it as not sent" in out
    receipt = yaml.safe_load(batch.repos.origin_file(RECEIPT) or "")
    second = receipt["emails"][1]
    assert second["state"] == "sent"
    assert "resolved it as not sent" in second["note"]
    assert second["resolution"]["decision"] == "not-sent"
    batch.check_agreement()
    again = _cli(batch.root, batch.server, "run", "--retry-failed")
    assert (again.returncode, again.stdout) == (0, "nothing to send\n")
    assert len(batch.server.received) == 2
