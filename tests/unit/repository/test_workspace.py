"""A workspace finds its root with git itself, opens GitPython's repository only when asked, and
closes it on exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import git
import pytest

from retrobatch.errors import UsageError
from retrobatch.repository import cachedir
from retrobatch.repository.workspace import Workspace


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_root_found_from_a_subfolder_or_a_file_agrees_with_gitpython(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    inner = root / "submissions" / "x"
    inner.mkdir(parents=True)
    (inner / "manifest.yaml").write_text("id: x\n")
    expected = git.Repo(inner, search_parent_directories=True).working_tree_dir
    assert Workspace.around(inner).root == Path(str(expected)) == root
    assert Workspace.around(inner / "manifest.yaml").root == root
    assert Workspace.around(root).root == root


def test_an_ordinary_work_tree_needs_no_git_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo")
    started: list[object] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: started.append(a))
    assert Workspace.around(root / ".").root == root
    assert started == []


def test_a_linked_work_tree_is_found_by_git(tmp_path: Path) -> None:
    main = make_repo(tmp_path / "main")
    run = ["git", "-C", str(main), "-c", "user.name=a", "-c", "user.email=a@b.example"]
    subprocess.run([*run, "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    linked = tmp_path / "linked"
    subprocess.run([*run, "worktree", "add", "-q", str(linked)], check=True)
    (linked / "sub").mkdir()
    assert (linked / ".git").is_file()  # not the plain layout: git is asked
    assert Workspace.around(linked / "sub").root == linked
    with Workspace.around(linked) as ws:
        assert ws.repo.working_tree_dir == str(linked)


def test_repo_is_opened_on_first_use_once_and_closed_on_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo")
    opened: list[git.Repo] = []
    closed: list[git.Repo] = []
    real_init, real_close = git.Repo.__init__, git.Repo.close

    def recording_init(self: git.Repo, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]
        opened.append(self)

    def recording_close(self: git.Repo) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(git.Repo, "__init__", recording_init)
    monkeypatch.setattr(git.Repo, "close", recording_close)
    with Workspace.around(root) as ws:
        assert opened == []  # finding the root needs no Repo
        repo = ws.repo
        assert ws.repo is repo and opened == [repo]  # one Repo, made on first use
        assert Path(repo.git_dir) == root / ".git"
        assert repo.head.is_valid() is False  # a new repository: no commit yet
        assert closed == []
    assert closed == [repo]
    with Workspace.around(root):
        pass
    assert len(opened) == 1 and closed == [repo]  # never used: nothing opened, nothing closed


def test_git_variables_of_another_repository_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other = make_repo(tmp_path / "mine"), make_repo(tmp_path / "other")
    (mine / "mine.txt").write_text("mine\n")
    (other / "other.txt").write_text("other\n")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    with Workspace.around(mine) as ws:
        assert ws.root == mine
        # every git command GitPython runs, and the cache's own, are about `mine`
        assert Path(ws.repo.git.rev_parse("--show-toplevel")) == mine
        assert ws.repo.git.status("--porcelain") == "?? mine.txt"
    assert cachedir.cache_dir(mine) == mine / ".git" / "retrobatch"


def test_inside_the_git_folder_the_work_tree_is_the_one_around_it(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    assert Workspace.around(root / ".git").root == root


def test_no_repository_or_a_bare_one_is_a_one_line_error(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    with pytest.raises(UsageError, match="bare repository") as bare_error:
        Workspace.around(bare)
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UsageError, match="not inside a git repository") as plain_error:
        Workspace.around(plain)
    with pytest.raises(UsageError, match="no such folder") as missing_error:
        Workspace.around(tmp_path / "missing")
    for error in (bare_error, plain_error, missing_error):
        assert "\n" not in str(error.value)


def test_check_without_base_imports_no_heavy_package(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    (root / "retrobatch.yaml").write_text(
        "version: 1\nsender: a@brand.example\n"
        'destinations:\n  "12345": {name: Sale, address: s@inbound.example}\n',
        encoding="utf-8",
    )
    code = (
        "import sys\nfrom retrobatch import cli\n"
        f"status = cli.main(['check', '--repo', {str(root)!r}])\n"
        "heavy = {'git', 'jsonschema', 'aiosmtpd', 'httpx', 'yagmail'} & set(sys.modules)\n"
        "print(status, sorted(heavy))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.splitlines()[-1] == "0 []"
