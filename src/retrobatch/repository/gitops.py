"""Git through GitPython: what a change touched, files at a commit, what HEAD changed. Where
the repository is and opening it is the workspace's (`repository/workspace.py`); writing receipts
(commit, push, rebase) is the ledger's (`repository/ledger.py`).

GitPython takes about 50 ms to import, which `retrobatch check` without `--base` never needs:
`git` below is imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrobatch.errors import UsageError

if TYPE_CHECKING:
    import git
else:

    class _LazyGit:
        """The `git` module, imported when one of its names is first read."""

        def __getattr__(self, name: str) -> Any:
            module = importlib.import_module("git")
            globals()["git"] = module
            return getattr(module, name)

    git = _LazyGit()


def root_of(repo: git.Repo) -> Path:
    if repo.working_tree_dir is None:
        raise UsageError(f"{repo.git_dir}: a bare repository has no submissions to read")
    return Path(repo.working_tree_dir)


def merge_base(repo: git.Repo, ref: str, head: str = "HEAD", *, named: str = "--base ") -> str:
    """The merge base of REF and HEAD, where a pull request's change starts; `named` is how the
    user gave REF (an option, or `diff`'s BASE argument), for the error."""
    try:
        bases = repo.merge_base(ref, head)
    except git.GitCommandError:
        raise UsageError(f"{named}{ref}: not a commit in this repository") from None
    if not bases:
        raise UsageError(f"{named}{ref}: has no common history with {head}")
    return str(bases[0].hexsha)


def changed_paths(repo: git.Repo, base: str, head: str | None = None) -> list[str]:
    """Repository-relative paths changed from `base` to `head`; without `head`, to the working
    tree, untracked files included."""
    names = _diff_names(repo, base) if head is None else _diff_names(repo, base, head)
    if head is None:
        names += repo.untracked_files
    return sorted(set(names))


def _diff_names(repo: git.Repo, *args: str) -> list[str]:
    """`git diff --name-only` between what `args` name (a rename counts as delete plus add)."""
    out = repo.git.diff("--name-only", "--no-renames", "-z", *args)
    return [n for n in out.split("\0") if n]


DEFAULT_BASES = ("@{upstream}", "origin/main", "main", "master")


def default_base(repo: git.Repo) -> str:
    """Where a branch's work starts when no base is named: its upstream, else main."""
    for ref in DEFAULT_BASES:
        try:
            repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
        except git.GitCommandError:
            continue
        return ref
    raise UsageError("no upstream, origin/main or main to compare with: name a BASE commit")


def commit_of(repo: git.Repo, ref: str) -> str:
    """A commit's full id; a clear UsageError when `ref` names none."""
    try:
        return str(repo.commit(ref).hexsha)
    except (git.BadName, ValueError, git.GitCommandError):
        raise UsageError(f"{ref}: not a commit in this repository") from None


def unborn(repo: git.Repo, commit: str) -> bool:
    """Whether `commit` is HEAD in a repository without a commit yet, where nothing exists."""
    return commit == "HEAD" and not repo.head.is_valid()


def read_at(repo: git.Repo, commit: str, rel: str) -> bytes | None:
    """A file's bytes at a commit, None when it did not exist there (nor anything else)."""
    if unborn(repo, commit):
        return None
    try:
        blob = repo.commit(commit).tree / rel
    except KeyError:
        return None
    data: bytes = blob.data_stream.read()
    return data


_SPECIAL_MODES = {"120000": "a symbolic link", "160000": "a submodule"}


def special_entries(repo: git.Repo, commit: str, folder: str) -> list[tuple[str, str]]:
    """(path, what it is) of every link or submodule under `folder` at `commit`: git records
    a link as mode 120000, whatever the checkout made of it."""
    if unborn(repo, commit):
        return []
    listing = repo.git.ls_tree("-r", "-z", "--full-tree", commit, "--", folder)
    found = []
    for entry in listing.split("\0"):
        meta, _, path = entry.partition("\t")
        mode = meta.split(" ", 1)[0]
        if mode in _SPECIAL_MODES:
            found.append((path, _SPECIAL_MODES[mode]))
    return found


def head_commit(repo: git.Repo) -> str:
    return str(repo.head.commit.hexsha)


def is_dirty(repo: git.Repo, rel: str) -> bool:
    """Whether anything under `rel` differs from HEAD: staged, changed or not yet tracked."""
    return bool(repo.git.status("--porcelain", "--untracked-files=all", "--", rel).strip())


def changed_in_head(repo: git.Repo) -> list[str] | None:
    """Paths the HEAD commit changed against its first parent; None when there is no parent to
    compare with (a root commit, or a shallow clone)."""
    if unborn(repo, "HEAD"):
        return None
    head = repo.head.commit
    if not head.parents:
        return None
    try:
        return _diff_names(repo, f"{head.hexsha}^1", head.hexsha)
    except git.GitCommandError:  # a shallow clone without the parent
        return None


def changed_between(repo: git.Repo, old: str, new: str, rel: str) -> list[str] | None:
    """Paths under `rel` that differ between two commits; None when `old` is not in this clone
    (a shallow one, or rewritten history)."""
    try:
        return _diff_names(repo, old, new, "--", rel)
    except git.GitCommandError:
        return None


def identity(repo: git.Repo, env: Mapping[str, str]) -> str:
    """Who acts: the GitHub user who started a workflow, else git's configured user."""
    if env.get("GITHUB_ACTOR"):
        return env["GITHUB_ACTOR"]
    reader = repo.config_reader()
    name = str(reader.get_value("user", "name", "")).strip()
    email = str(reader.get_value("user", "email", "")).strip()
    if name and email:
        return f"{name} <{email}>"
    return name or email or "unknown"
