"""Generated hostile input thrown at `check` and `run`: addresses, ids and file trees with
links, loops and special files. Whatever comes, each failure is a finding (check) or one line
(run), never a traceback; nothing outside the submission folder is read or written; and no
address outside the allow-list reaches RCPT on a real SMTP server.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parseaddr
from pathlib import Path

import git
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrobatch import addresses
from retrobatch.cli import main
from support.runner_env import SETTINGS_YAML, SmtpServer, item_csv

SUB = "2026-11-20-checkout-outage"
ALLOWED = {"brand.example"}
DESTINATION = "a1b2c3@inbound.example"
MARKER = "OUTSIDE-CANARY-7f3a"
EXAMPLES = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("RETROBATCH_", "GITHUB_")):
            monkeypatch.delenv(name, raising=False)


@contextmanager
def repository(cc: list[str] | None = None, sub_id: str = SUB) -> Iterator[tuple[Path, Path]]:
    """A committed repository with one submission, and an `outside` folder holding a canary."""
    with tempfile.TemporaryDirectory() as tmp:
        root, outside = Path(tmp) / "repo", Path(tmp) / "outside"
        outside.mkdir()
        (outside / "canary.yaml").write_text(f"secret: {MARKER}\n", encoding="utf-8")
        repo = git.Repo.init(root, initial_branch="main")
        with repo.config_writer() as cw:
            cw.set_value("user", "name", "Ana")
            cw.set_value("user", "email", "ana@brand.example")
        (root / "retrobatch.yaml").write_text(SETTINGS_YAML, encoding="utf-8")
        folder = root / "submissions" / sub_id
        folder.mkdir(parents=True)
        manifest = {
            "id": sub_id,
            "template": "item-level",
            "event_type": 12345,
            "file": "conversions.csv",
            "description": "generated",
            "requested_by": "ana@brand.example",
        }
        if cc is not None:
            manifest["cc"] = cc
        (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
        (folder / "conversions.csv").write_bytes(item_csv([("A-1", 1)]))
        repo.git.add(A=True)
        repo.index.commit("start")
        yield root, outside


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()}


def cli(root: Path, *args: str) -> int:
    code = main([*args, "--repo", str(root)])
    assert code in (0, 1, 2)
    return code


# --- addresses --------------------------------------------------------------------------------

LOCAL = st.text(alphabet='abc.+-_()<>",;:@[] \\\t\n\r\x00é', min_size=0, max_size=8)
DOMAIN = st.sampled_from(
    [
        "brand.example",
        "BRAND.example",
        "evil.example",
        "brand.example.evil",
        "brand.example\n",
        "brand.example>",
        "(c)brand.example",
        "[127.0.0.1]",
        "brand..example",
        "",
    ]
)
ADDRESS = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN),
    st.text(max_size=20),
    st.sampled_from(
        [
            "x(@brand.example",
            "a@brand.example, b@evil.example",
            "<a@brand.example>",
            "a@brand.example (c)",
            '"a b"@brand.example',
            "ok@brand.example",
        ]
    ),
)


def _acceptable(cc: str) -> bool:
    return (
        cc.isascii()
        and parseaddr(cc) == ("", cc)
        and cc.rpartition("@")[2].lower() in ALLOWED
        and addresses.is_address(cc)
    )


@EXAMPLES
@given(cc=st.lists(ADDRESS, min_size=1, max_size=3))
def test_check_passes_a_cc_only_if_it_parses_to_itself_inside_the_allow_list(
    cc: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with repository(cc) as (root, _outside):
        code = cli(root, "check")
    out = capsys.readouterr().out
    if all(_acceptable(a) for a in cc) and len(set(cc)) == len(cc):
        assert code == 0, out
    else:
        assert code == 1, out
        assert "manifest.yaml:" in out


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cc=st.lists(ADDRESS, min_size=1, max_size=3))
def test_no_address_outside_the_allow_list_reaches_rcpt(
    cc: list[str],
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in smtp_server.env().items():
        monkeypatch.setenv(name, value)
    smtp_server.handler.received.clear()
    with repository(cc) as (root, _outside):
        cli(root, "run", "--no-push")
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    for message in smtp_server.received:
        for rcpt in message.rcpt_tos:
            assert rcpt == DESTINATION or (_acceptable(rcpt) and rcpt in cc), rcpt


@EXAMPLES
@given(sub_id=st.one_of(st.text(max_size=30), st.from_regex(r"2026-11-2[0-9]-[a-z0-9-]{1,8}\n?")))
def test_any_submission_id_is_a_finding_or_passes(
    sub_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    safe_name = "2026-11-20-x"
    with repository(sub_id=safe_name) as (root, _outside):
        manifest = root / "submissions" / safe_name / "manifest.yaml"
        data = yaml.safe_load(manifest.read_text())
        data["id"] = sub_id
        manifest.write_text(yaml.safe_dump(data), encoding="utf-8")
        code = cli(root, "check")
    out = capsys.readouterr().out
    assert code == (0 if sub_id == safe_name else 1), out


# --- file trees -------------------------------------------------------------------------------

KINDS = st.sampled_from(
    [
        "file",
        "folder",
        "link-outside",
        "link-canary",
        "link-self",
        "link-parent",
        "link-inside",
        "link-absent",
        "fifo",
        "folder-link",
    ]
)
NAMES = st.sampled_from(
    [
        "receipt.yaml",
        "receipt.yaml.tmp",
        "manifest.yaml",
        "conversions.csv",
        "README.md",
        "a",
        "sub/b",
        "sub/deeper/c",
    ]
)


def plant(folder: Path, outside: Path, rel: str, kind: str) -> bool:
    """Put one entry at `rel` in the folder; True when it is a link or special file."""
    path = folder / rel
    if path.parent != folder:
        if os.path.lexists(path.parent) and not path.parent.is_dir():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(path):
        if path.is_dir() and not path.is_symlink():
            return False
        path.unlink()
    match kind:
        case "file":
            path.write_text("plain\n", encoding="utf-8")
            return False
        case "folder":
            path.mkdir()
            return False
        case "link-outside" | "folder-link":
            path.symlink_to(outside, target_is_directory=True)
        case "link-canary":
            path.symlink_to(outside / "canary.yaml")
        case "link-self":
            path.symlink_to(path.name)
        case "link-parent":
            path.symlink_to("..", target_is_directory=True)
        case "link-inside":
            path.symlink_to(folder / "conversions.csv")
        case "link-absent":
            path.symlink_to(outside / "absent")
        case "fifo":
            os.mkfifo(path)
    return True


@EXAMPLES
@given(entries=st.lists(st.tuples(NAMES, KINDS), min_size=1, max_size=4))
def test_trees_with_links_and_special_files_are_refused_and_nothing_outside_is_touched(
    entries: list[tuple[str, str]],
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in smtp_server.env().items():
        monkeypatch.setenv(name, value)
    smtp_server.handler.received.clear()
    with repository() as (root, outside):
        folder = root / "submissions" / SUB
        planted = [plant(folder, outside, rel, kind) for rel, kind in entries]
        special = any(
            os.path.islink(p) or not (os.path.isfile(p) or os.path.isdir(p))
            for p in (Path(d) / n for d, dirs, files in os.walk(folder) for n in dirs + files)
        )
        before = snapshot(outside)
        check_code = cli(root, "check")
        check_out = capsys.readouterr().out
        repo = git.Repo(root)
        with contextlib.suppress(git.GitCommandError):  # git cannot add a FIFO: leave it
            repo.git.add("-A", "--ignore-errors")
        if repo.is_dirty(index=True):
            repo.index.commit("hostile tree")
        run_code = cli(root, "run", "--no-push")
        run_out = capsys.readouterr().out
        assert snapshot(outside) == before
        assert sorted(p.name for p in outside.iterdir()) == ["canary.yaml"]
    assert MARKER not in check_out and MARKER not in run_out
    if special:
        assert any(planted)
        assert check_code == 1 and "[repo.special-file]" in check_out, check_out
        assert run_code == 1 and run_out.count("\n") == 1 and "invalid, not sent" in run_out
        assert smtp_server.received == []
