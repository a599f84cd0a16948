"""Git through GitPython: where the repository is, what a change touched, files at a commit.

GitPython takes about 50 ms to import, which `retrobatch check` without `--base` never needs:
`open_repo` finds an ordinary repository's root itself and makes GitPython's `Repo` only when
something asks it for more than that.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .errors import UsageError

if TYPE_CHECKING:
    import git

# Variables that change where git looks for a repository: with any of them, GitPython decides.
_GIT_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")
_HEAD = re.compile(rb"ref:\s*refs/|[0-9A-Fa-f]{40}")
_BARE = re.compile(r"^\s*bare\s*=\s*true\s*$", re.IGNORECASE | re.MULTILINE)


class LazyRepo:
    """Stands for `git.Repo(root)` and makes it on first use of anything but the root."""

    def __init__(self, root: Path) -> None:
        self.working_tree_dir = str(root)
        self._repo: git.Repo | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_repo":
            raise AttributeError(name)
        if self._repo is None:
            import git

            self._repo = git.Repo(self.working_tree_dir)
        return getattr(self._repo, name)

    def __enter__(self) -> LazyRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._repo is not None:
            self._repo.close()

    def __repr__(self) -> str:
        return f"<LazyRepo {self.working_tree_dir!r}>"


def open_repo(start: Path) -> git.Repo:
    """The repository around `start`; a clear UsageError when there is none."""
    if not start.exists():
        raise UsageError(f"{start}: no such folder")
    root = _plain_root(start)
    if root is not None:
        return cast("git.Repo", LazyRepo(root))
    import git

    try:
        return git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{start}: not inside a git repository (pass --repo DIR)") from None


def _plain_root(start: Path) -> Path | None:
    """The work tree around `start` when it is the common case GitPython would find too: a
    non-bare `.git` directory, no git variables set, `start` not inside a git directory.
    None: let GitPython judge."""
    if any(os.environ.get(v) is not None for v in _GIT_ENV) or "$" in str(start):
        return None
    here = Path(os.path.abspath(start))
    for folder in (here, *here.parents):
        dotgit = folder / ".git"
        if (folder / "HEAD").exists():
            return None  # perhaps a git directory itself
        if not os.path.lexists(dotgit):
            continue
        if not dotgit.is_dir() or dotgit.is_symlink() or (dotgit / "commondir").exists():
            return None
        try:
            head = (dotgit / "HEAD").read_bytes()[:256]
            config = (dotgit / "config").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        plain = (dotgit / "objects").is_dir() and (dotgit / "refs").is_dir()
        if not plain or not _HEAD.match(head) or _BARE.search(config):
            return None
        return folder
    return None


def root_of(repo: git.Repo) -> Path:
    if repo.working_tree_dir is None:
        raise UsageError(f"{repo.git_dir}: a bare repository has no submissions to read")
    return Path(repo.working_tree_dir)


def merge_base(repo: git.Repo, ref: str) -> str:
    """The merge base of REF and HEAD, where a pull request's change starts."""
    import git

    try:
        bases = repo.merge_base(ref, "HEAD")
    except git.GitCommandError:
        raise UsageError(f"--base {ref}: not a commit in this repository") from None
    if not bases:
        raise UsageError(f"--base {ref}: has no common history with HEAD")
    return str(bases[0].hexsha)


def changed_paths(repo: git.Repo, base: str) -> list[str]:
    """Repository-relative paths changed since `base`, working tree and untracked files included."""
    names = repo.git.diff("--name-only", "--no-renames", "-z", base).split("\0")
    names += repo.untracked_files
    return sorted({n for n in names if n})


def read_at(repo: git.Repo, commit: str, rel: str) -> bytes | None:
    """A file's bytes at a commit, None when it did not exist there."""
    try:
        blob = repo.commit(commit).tree / rel
    except KeyError:
        return None
    data: bytes = blob.data_stream.read()
    return data
