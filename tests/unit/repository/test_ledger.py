import os
from pathlib import Path

import pytest

from retrobatch.errors import UsageError
from retrobatch.repository import gitops
from retrobatch.repository.ledger import Ledger, PushConflict, PushFailed, UnsafePath, write_receipt
from retrobatch.repository.receipts import EmailPart, Receipt, load_receipt
from retrobatch.repository.settings import Committer
from support.runner_env import Repos

SUB = "submissions/2026-11-20-x"


def _write(repo_root: Path, rel: str, text: str) -> str:
    (repo_root / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo_root / rel).write_text(text, encoding="utf-8")
    return rel


def _push_from_other(repos: Repos, rel: str, text: str) -> None:
    """Someone else's commit reaches origin while `work` is not looking."""
    _write(Path(str(repos.other.working_tree_dir)), rel, text)
    repos.other.index.add([rel])
    repos.other.index.commit("theirs")
    repos.other.remote("origin").push("main").raise_if_error()


def _ledger(repos: Repos, **options: object) -> Ledger:
    slept: list[float] = []
    ledger = Ledger(repos.work, Committer("bot", "b@x"), sleep=slept.append, **options)  # type: ignore[arg-type]
    ledger.slept = slept  # type: ignore[attr-defined]
    return ledger


def _receipt(state: str = "sent", attempts: int = 1) -> Receipt:
    part = EmailPart("x.csv", "sent", "0" * 64, 1, "<m@x>", "a@b.example")
    return Receipt("2026-11-20-x", state, attempts=attempts, emails=[part])  # type: ignore[arg-type]


def test_commit_paths_commits_only_those_paths_as_the_committer(repos: Repos) -> None:
    root = repos.root
    _write(root, "staged.txt", "someone else's work\n")
    repos.work.index.add(["staged.txt"])
    rel = _write(root, "submissions/x/receipt.yaml", "state: sent\n")
    sha = _ledger(repos).commit_paths([rel], "retrobatch: sent x")
    commit = repos.work.commit(sha)
    assert list(commit.stats.files) == [rel]
    assert (commit.author.name, commit.committer.email) == ("bot", "b@x")
    assert "staged.txt" in [d.a_path for d in repos.work.index.diff("HEAD")]


def test_record_rebases_when_origin_moved_and_prints_nothing(
    repos: Repos, capfd: pytest.CaptureFixture[str]
) -> None:
    (repos.root / SUB).mkdir(parents=True)
    _push_from_other(repos, "theirs.txt", "x\n")
    ledger = _ledger(repos, delay=0.5)
    ledger.record("ours", lambda: {SUB: _receipt()})
    assert ledger.slept == [0.5]  # type: ignore[attr-defined]
    head = repos.origin.commit("main")
    assert head.message.strip() == "ours"
    assert head.parents[0].message.strip() == "theirs"
    assert capfd.readouterr() == ("", "")


def test_a_conflict_applies_the_update_again_to_the_remote_receipt(repos: Repos) -> None:
    (repos.root / SUB).mkdir(parents=True)
    _push_from_other(
        repos,
        f"{SUB}/receipt.yaml",
        "submission: 2026-11-20-x\nstate: partial\nemails: []\nattempts: 7\n",
    )
    ledger = _ledger(repos)
    seen: list[int | None] = []

    def bump() -> dict[str, Receipt]:
        current = ledger.read(SUB)
        seen.append(current.attempts if current else None)
        return {SUB: _receipt("sent", (current.attempts if current else 0) + 1)}

    ledger.record("ours", bump)
    assert seen == [None, 7]  # first on our HEAD, then on theirs
    got, problems = load_receipt(repos.root / SUB, repos.root)
    assert got is not None, problems
    assert (got.state, got.attempts) == ("sent", 8)
    assert repos.origin.commit("main").parents[0].message.strip() == "theirs"


def test_an_update_that_gives_up_after_a_conflict_leaves_nothing(repos: Repos) -> None:
    (repos.root / SUB).mkdir(parents=True)
    _push_from_other(
        repos, f"{SUB}/receipt.yaml", "submission: 2026-11-20-x\nstate: sent\nemails: []\n"
    )
    ledger = _ledger(repos)
    start = repos.work.head.commit.hexsha

    def only_once() -> dict[str, Receipt]:
        if ledger.read(SUB) is not None:
            raise UsageError("someone else recorded it")
        return {SUB: _receipt("failed")}

    with pytest.raises(UsageError, match="someone else"):
        ledger.record("ours", only_once)
    assert repos.work.head.commit.hexsha != start  # now at origin's commit
    assert repos.work.head.commit.hexsha == repos.origin.commit("main").hexsha
    assert not repos.work.is_dirty(untracked_files=True)


def test_push_reports_a_conflict(repos: Repos) -> None:
    _push_from_other(repos, "same.txt", "theirs\n")
    ledger = _ledger(repos)
    ledger.commit_paths([_write(repos.root, "same.txt", "ours\n")], "ours")
    with pytest.raises(PushConflict, match=r"same\.txt"):
        ledger.push()
    assert repos.work.head.commit.message.strip() == "ours"  # the rebase was undone
    ledger.drop_head_commit()
    assert not (repos.root / "same.txt").exists()


def test_push_to_an_unreachable_remote_fails_after_bounded_attempts(
    repos: Repos, tmp_path: Path
) -> None:
    repos.work.remote("origin").set_url(str(tmp_path / "nowhere.git"))
    ledger = _ledger(repos, attempts=3, delay=0.1)
    ledger.commit_paths([_write(repos.root, "a.txt", "a\n")], "a")
    with pytest.raises(PushFailed, match="after 3 attempts"):
        ledger.push()
    assert ledger.slept == [0.1, 0.2]  # type: ignore[attr-defined]


def test_push_needs_a_branch(repos: Repos) -> None:
    repos.work.git.checkout("--detach")
    with pytest.raises(UsageError, match="detached"):
        _ledger(repos).push_target()


def test_unpushed_lists_commits_origin_lacks(repos: Repos) -> None:
    ledger = _ledger(repos)
    assert ledger.unpushed() == []
    ledger.commit_paths([_write(repos.root, "a.txt", "a\n")], "retrobatch: sent a")
    (line,) = ledger.unpushed()
    assert line.endswith(" retrobatch: sent a")
    ledger.push()
    assert ledger.unpushed() == []


def test_receipts_are_never_written_through_links(repos: Repos, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = repos.root / SUB
    folder.mkdir(parents=True)
    target = outside / "target.yaml"
    target.write_text("untouched\n", encoding="utf-8")
    os.symlink(target, folder / "receipt.yaml")
    with pytest.raises(UnsafePath, match="not a plain file"):
        write_receipt(folder, _receipt())
    assert target.read_text(encoding="utf-8") == "untouched\n"
    linked = repos.root / "submissions" / "2026-11-21-linked"
    os.symlink(outside, linked)
    with pytest.raises(UnsafePath, match="symbolic link"):
        write_receipt(linked, _receipt())
    assert sorted(p.name for p in outside.iterdir()) == ["target.yaml"]
    # and the ledger commits no link either
    with pytest.raises(UnsafePath):
        _ledger(repos).commit_paths([f"{SUB}/receipt.yaml"], "a link")


def test_write_leaves_no_temporary_file(repos: Repos) -> None:
    folder = repos.root / SUB
    folder.mkdir(parents=True)
    write_receipt(folder, _receipt())
    write_receipt(folder, _receipt("partial"))
    assert [p.name for p in folder.iterdir()] == ["receipt.yaml"]


def test_identity_prefers_the_github_actor(repos: Repos) -> None:
    assert gitops.identity(repos.work, {"GITHUB_ACTOR": "octocat"}) == "octocat"
    assert gitops.identity(repos.work, {}) == "Ana <ana@brand.example>"


def test_changed_in_head_and_between(repos: Repos) -> None:
    first = repos.work.head.commit.hexsha
    _ledger(repos).commit_paths([_write(repos.root, "d/a.txt", "a\n")], "a")
    assert gitops.changed_in_head(repos.work) == ["d/a.txt"]
    assert gitops.changed_between(repos.work, first, "HEAD", "d") == ["d/a.txt"]
    assert gitops.changed_between(repos.work, "0" * 40, "HEAD", "d") is None


def test_a_killed_writes_leftover_is_removed_and_is_no_stranger_to_check(repos: Repos) -> None:
    """SIGKILL between creating the temporary receipt and replacing leaves it behind: the
    folder must not be refused for it, and the next write clears it (a link is still refused)."""
    from retrobatch.repository.submissions import folder_at, unexpected

    folder = repos.root / SUB
    folder.mkdir(parents=True, exist_ok=True)
    leftover = folder / ".receipt.yaml.4242.0badc0de.tmp"
    leftover.write_text("half a receipt", encoding="utf-8")
    stranger = folder / "receipt.yaml.tmp"
    stranger.write_text("x", encoding="utf-8")
    found = unexpected(folder_at(repos.root, folder), "x.csv")
    assert [f.path for f in found] == [f"{SUB}/receipt.yaml.tmp"]
    stranger.unlink()
    write_receipt(folder, _receipt())
    assert sorted(p.name for p in folder.iterdir()) == ["receipt.yaml"]
