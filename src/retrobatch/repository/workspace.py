"""The repository a command works on: its root at once, its GitPython `Repo` on first use.

GitPython takes about 50 ms to import, which `retrobatch check` without `--base` never needs, so
the `Repo` is opened only when something asks for it. The root of an ordinary work tree (a `.git`
folder above) is read from the file system; anything else is asked of git itself (`git rev-parse`,
as pre-commit finds its root). Asking git always would be simpler, but its process costs about
1.2 ms against 0.04 ms for looking (about 1% of `check`'s start), on every run.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from retrobatch.errors import UsageError

if TYPE_CHECKING:
    import git

_HEAD = re.compile(rb"ref:\s*refs/|[0-9A-Fa-f]{40}")
_BARE = re.compile(r"^\s*bare\s*=\s*true\s*$", re.IGNORECASE | re.MULTILINE)


class Workspace:
    """A work tree's root, and its GitPython repository opened when first used and closed on
    exit (`with Workspace.around(path) as ws: ...`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def around(cls, start: Path) -> Workspace:
        """The work tree around `start`; a clear UsageError when there is none."""
        return cls(find_root(start))

    @cached_property
    def repo(self) -> git.Repo:
        import git

        repo = git.Repo(self.root)
        # git obeys GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE over the folder it runs in, and
        # GitPython passes the process's environment on: each is pinned to this repository.
        repo.git.update_environment(
            GIT_DIR=repo.git_dir,
            GIT_WORK_TREE=str(self.root),
            GIT_INDEX_FILE=str(Path(repo.git_dir) / "index"),
        )
        return repo

    def close(self) -> None:
        if "repo" in self.__dict__:  # opened: cached_property keeps it in the instance
            self.__dict__.pop("repo").close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace {str(self.root)!r}>"


def find_root(start: Path) -> Path:
    """The top of the work tree around `start` (a folder or a file in one).

    Git's variables (GIT_DIR, GIT_WORK_TREE...) are ignored: a hook or a parent git process sets
    them for its own repository, not for the folder the user named."""
    if not start.exists():
        raise UsageError(f"{start}: no such folder")
    here = Path(os.path.abspath(start))
    return _plain_root(here) or _ask_git(start, here)


def _plain_root(here: Path) -> Path | None:
    """The work tree around `here` when it is the common case, seen without starting git: a
    non-bare `.git` directory, `here` not inside a git directory. None: ask git."""
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


def _ask_git(start: Path, here: Path) -> Path:
    """The root as git finds it, in one `git rev-parse`. `--show-cdup` rather than
    `--show-toplevel` keeps the path as the user wrote it (links not followed), as pre-commit
    does, so paths given beside it stay inside it."""
    import subprocess  # on first use: an ordinary work tree's root is found without git

    folder = here if here.is_dir() else here.parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--is-bare-repository", "--is-inside-git-dir", "--show-cdup"],
            cwd=folder,
            env=without_git_variables(),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise UsageError(f"cannot run git: {exc.strerror or exc}") from None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) < 2:
        raise UsageError(f"{start}: not inside a git repository (pass --repo DIR)")
    if lines[0] == "true":
        raise UsageError(f"{start}: a bare repository has no submissions to read")
    if lines[1] == "true":  # inside a .git folder: its work tree is the one around it
        return _work_tree_of_git_dir(start)
    cdup = lines[2] if len(lines) > 2 else ""
    return Path(os.path.normpath(folder / cdup))


def without_git_variables() -> dict[str, str]:
    """The environment for a git process that must find the repository from its folder."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def _work_tree_of_git_dir(start: Path) -> Path:
    """Rare (`--repo .git`): GitPython judges, as it always has."""
    import git

    try:
        with git.Repo(start, search_parent_directories=True) as repo:
            tree = repo.working_tree_dir
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{start}: not inside a git repository (pass --repo DIR)") from None
    if tree is None:
        raise UsageError(f"{start}: a bare repository has no submissions to read")
    return Path(tree)
