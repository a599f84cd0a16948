from pathlib import Path

import pytest

from retrobatch import gitops
from retrobatch.errors import UsageError
from retrobatch.settings import Committer
from runner_env import Repos


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


def test_commit_paths_commits_only_those_paths_as_the_committer(repos: Repos) -> None:
    root = repos.root
    _write(root, "staged.txt", "someone else's work\n")
    repos.work.index.add(["staged.txt"])
    rel = _write(root, "submissions/x/receipt.yaml", "state: sent\n")
    sha = gitops.commit_paths(repos.work, [rel], "retrobatch: sent x", Committer("bot", "b@x"))
    commit = repos.work.commit(sha)
    assert list(commit.stats.files) == [rel]
    assert (commit.author.name, commit.committer.email) == ("bot", "b@x")
    assert "staged.txt" in [d.a_path for d in repos.work.index.diff("HEAD")]


def test_push_rebases_when_origin_moved(repos: Repos) -> None:
    _push_from_other(repos, "theirs.txt", "x\n")
    gitops.commit_paths(repos.work, [_write(repos.root, "ours.txt", "y\n")], "ours", None)
    slept: list[float] = []
    gitops.push(repos.work, delay=0.5, sleep=slept.append)
    assert slept == [0.5]
    head = repos.origin.commit("main")
    assert head.message.strip() == "ours"
    assert head.parents[0].message.strip() == "theirs"


def test_push_reports_a_conflict_with_its_paths(repos: Repos) -> None:
    _push_from_other(repos, "same.txt", "theirs\n")
    gitops.commit_paths(repos.work, [_write(repos.root, "same.txt", "ours\n")], "ours", None)
    with pytest.raises(gitops.PushConflict) as caught:
        gitops.push(repos.work, sleep=lambda _: None)
    assert caught.value.paths == ["same.txt"]
    assert repos.work.head.commit.message.strip() == "ours"  # the rebase was undone
    gitops.drop_head_commit(repos.work)
    assert not (repos.root / "same.txt").exists()


def test_push_to_an_unreachable_remote_fails_after_bounded_attempts(
    repos: Repos, tmp_path: Path
) -> None:
    repos.work.remote("origin").set_url(str(tmp_path / "nowhere.git"))
    gitops.commit_paths(repos.work, [_write(repos.root, "a.txt", "a\n")], "a", None)
    slept: list[float] = []
    with pytest.raises(gitops.PushFailed, match="after 3 attempts"):
        gitops.push(repos.work, attempts=3, delay=0.1, sleep=slept.append)
    assert slept == [0.1, 0.2]


def test_push_needs_a_branch_and_a_remote(repos: Repos) -> None:
    repos.work.git.checkout("--detach")
    with pytest.raises(UsageError, match="detached"):
        gitops.push_target(repos.work)


def test_identity_prefers_the_github_actor(repos: Repos) -> None:
    assert gitops.identity(repos.work, {"GITHUB_ACTOR": "octocat"}) == "octocat"
    assert gitops.identity(repos.work, {}) == "Ana <ana@brand.example>"


def test_changed_in_head_and_between(repos: Repos) -> None:
    first = repos.work.head.commit.hexsha
    gitops.commit_paths(repos.work, [_write(repos.root, "d/a.txt", "a\n")], "a", None)
    assert gitops.changed_in_head(repos.work) == ["d/a.txt"]
    assert gitops.changed_between(repos.work, first, "HEAD", "d") == ["d/a.txt"]
    assert gitops.changed_between(repos.work, "0" * 40, "HEAD", "d") is None
