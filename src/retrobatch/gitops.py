"""Git through GitPython: where the repository is, what a change touched, files at a commit."""

from __future__ import annotations

from pathlib import Path

import git

from .errors import UsageError


def open_repo(start: Path) -> git.Repo:
    """The repository around `start`; a clear UsageError when there is none."""
    if not start.exists():
        raise UsageError(f"{start}: no such folder")
    try:
        return git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{start}: not inside a git repository (pass --repo DIR)") from None


def root_of(repo: git.Repo) -> Path:
    if repo.working_tree_dir is None:
        raise UsageError(f"{repo.git_dir}: a bare repository has no submissions to read")
    return Path(repo.working_tree_dir)


def merge_base(repo: git.Repo, ref: str, head: str = "HEAD") -> str:
    """The merge base of REF and HEAD, where a pull request's change starts."""
    try:
        bases = repo.merge_base(ref, head)
    except git.GitCommandError:
        raise UsageError(f"--base {ref}: not a commit in this repository") from None
    if not bases:
        raise UsageError(f"--base {ref}: has no common history with {head}")
    return str(bases[0].hexsha)


def changed_paths(repo: git.Repo, base: str, head: str | None = None) -> list[str]:
    """Repository-relative paths changed from `base` to `head`; without `head`, to the working
    tree, untracked files included."""
    ends = (base,) if head is None else (base, head)
    names = repo.git.diff("--name-only", "--no-renames", "-z", *ends).split("\0")
    if head is None:
        names += repo.untracked_files
    return sorted({n for n in names if n})


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


def resolve(repo: git.Repo, ref: str) -> str:
    """A commit's full id; a clear UsageError when `ref` names none."""
    try:
        return str(repo.commit(ref).hexsha)
    except (git.BadName, ValueError, git.GitCommandError):
        raise UsageError(f"{ref}: not a commit in this repository") from None


def read_at(repo: git.Repo, commit: str, rel: str) -> bytes | None:
    """A file's bytes at a commit, None when it did not exist there."""
    try:
        blob = repo.commit(commit).tree / rel
    except KeyError:
        return None
    data: bytes = blob.data_stream.read()
    return data
