"""open_repo finds an ordinary repository without GitPython, and agrees with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import git
import pytest

from retrobatch.errors import UsageError
from retrobatch.repository import gitops


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_root_found_from_a_subfolder_agrees_with_gitpython(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    inner = root / "submissions" / "x"
    inner.mkdir(parents=True)
    repo = gitops.open_repo(inner)
    assert isinstance(repo, gitops.LazyRepo)
    expected = git.Repo(inner, search_parent_directories=True).working_tree_dir
    assert gitops.root_of(repo) == Path(str(expected))
    assert Path(repo.git_dir) == root / ".git"  # anything else comes from GitPython's Repo
    with repo as same:  # a context manager, as GitPython's Repo is
        assert same.head.is_valid() is False  # a new repository: no commit yet


def test_unusual_layouts_are_left_to_gitpython(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    with pytest.raises(UsageError, match="bare repository"):
        gitops.root_of(gitops.open_repo(bare))
    with pytest.raises(UsageError, match="not inside a git repository"):
        gitops.open_repo(tmp_path)


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
