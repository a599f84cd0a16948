"""The receipts ledger: the one way a receipt is written, committed and pushed (by `run`,
`resolve` and `reconcile` alike).

A change to receipts is a function of the receipts as they are (`update`), not a file: when the
push finds that the remote changed the same receipt meanwhile, the ledger drops its commit,
takes the remote's version, and applies the function again, so whatever the other writer
recorded is kept and the function decides what its own news means on top of it (a run's 250
wins over a person's guess; a resolution of a part no longer in doubt is refused).

Receipts are written without following links: a temporary file created exclusively, never
through a link, in the submission's own folder, then renamed over `receipt.yaml`. A folder or
receipt that is a symbolic link is refused, and a link is never committed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from retrobatch.errors import OperationFailed, UsageError
from retrobatch.repository import gitops
from retrobatch.repository.receipts import RECEIPT_FILE, Receipt, dump_receipt, parse_receipt
from retrobatch.repository.settings import Committer
from retrobatch.repository.submissions import SUBMISSIONS_DIR, is_leftover

if TYPE_CHECKING:
    import git

# Receipt commits need an author even where git has no identity configured (a fresh CI runner).
FALLBACK_IDENTITY = Committer("retrobatch", "retrobatch@localhost")

# What an update returns: the receipts to write, by submission folder (relative to the root).
Changes = Mapping[str, Receipt]


class PushFailed(OperationFailed):
    """Commits that stay local: the remote could not be reached or kept rejecting them."""


class PushConflict(PushFailed):
    """The remote kept changing the same receipts: our commit was dropped, nothing recorded."""


class UnsafePath(OperationFailed):
    """A receipt or its folder is a symbolic link (or not a plain file): never written."""


def write_receipt(folder: Path, receipt: Receipt) -> Path:
    """Write `receipt.yaml` in `folder` atomically and without following links."""
    _refuse_links(folder)
    _remove_leftovers(folder)
    path = folder / RECEIPT_FILE
    tmp = folder / f".{RECEIPT_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
    except OSError as exc:
        raise OperationFailed(f"{tmp}: cannot create: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(dump_receipt(receipt))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _remove_leftovers(folder: Path) -> None:
    """Temporary receipts a killed run left behind (plain files only; nothing is followed)."""
    for entry in os.scandir(folder):
        if is_leftover(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def _refuse_links(folder: Path) -> None:
    for place in (folder.parent, folder):
        if place.is_symlink():
            raise UnsafePath(f"{place}: is a symbolic link: receipts are never written through one")
    if not folder.is_dir():
        raise UnsafePath(f"{folder}: not a folder")
    path = folder / RECEIPT_FILE
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise UnsafePath(f"{path}: not a plain file (a symbolic link?): not written")


class Ledger:
    """Commits and pushes receipts in one repository, as one committer."""

    def __init__(
        self,
        repo: git.Repo,
        committer: Committer | None,
        *,
        push: bool = True,
        attempts: int = 4,
        delay: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.repo = repo
        self.root = gitops.root_of(repo)
        self.committer = committer
        self.push_enabled = push
        self.attempts = attempts
        self.delay = delay
        self._sleep = sleep

    # --- reading -------------------------------------------------------------------------

    def read(self, folder_rel: str) -> Receipt | None:
        """The receipt as committed at HEAD (None without one); an unreadable one is an error."""
        rel = f"{folder_rel}/{RECEIPT_FILE}"
        data = gitops.read_at(self.repo, "HEAD", rel)
        if data is None:
            return None
        receipt, problems = parse_receipt(data.decode("utf-8", "replace"), rel)
        if receipt is None:
            raise OperationFailed(f"{rel}: {problems[0].message}")
        return receipt

    # --- writing -------------------------------------------------------------------------

    def record(
        self,
        message: str | Callable[[Receipt], str],
        update: Callable[[], Changes],
        *,
        push: bool = True,
    ) -> str | None:
        """Apply `update` to the receipts at HEAD, commit and (unless told not to) push.

        On a conflict the commit is dropped and `update` applied again to the remote's
        receipts; it may raise to give up. None when `update` has nothing to record.
        `message` may be made from the (first) receipt recorded.
        """
        for attempt in range(1, self.attempts + 1):
            changes = update()
            if not changes:
                return None
            text = message if isinstance(message, str) else message(next(iter(changes.values())))
            commit, rels = self._commit(changes, text)
            if not (push and self.push_enabled):
                return commit
            try:
                self.push(rels)
                return commit
            except PushConflict:
                self.drop_head_commit()
                if attempt == self.attempts:
                    raise
                self._sleep(self.delay * attempt)
                self._sync()
        raise AssertionError("unreachable")  # pragma: no cover

    def _commit(self, changes: Changes, message: str) -> tuple[str, list[str]]:
        rels = []
        for folder_rel, receipt in changes.items():
            path = write_receipt(self.root / folder_rel, receipt)
            rels.append(path.relative_to(self.root).as_posix())
        return self.commit_paths(rels, message), rels

    def commit_paths(self, rels: list[str], message: str) -> str:
        """Commit exactly these paths (whatever else is staged); the new commit's id."""
        for rel in rels:
            mode = (self.root / rel).lstat().st_mode
            if not stat.S_ISREG(mode):
                raise UnsafePath(f"{rel}: not a plain file (a symbolic link?): not committed")
        try:
            with self.repo.git.custom_environment(**_identity_env(self.committer)):
                self.repo.git.add("--", *rels)
                self.repo.git.commit("--no-verify", "--quiet", "-m", message, "--only", "--", *rels)
        except gitops.git.GitCommandError as exc:
            raise OperationFailed(f"cannot commit {', '.join(rels)}: {_git_error(exc)}") from None
        return gitops.head_commit(self.repo)

    def push(self, mine: list[str] | None = None) -> None:
        """Push HEAD; when the remote moved, rebase onto it and try again (bounded).

        PushConflict when the rebase conflicts, or when the remote changed any of the files
        `mine` (the last commit's receipts) at all: git would merge edits to different lines of
        one receipt silently, and the caller must see the other change (it drops its commit and
        applies its update again). PushFailed when the remote cannot be reached or keeps
        refusing (the commits stay local).
        """
        remote, branch = push_target(self.repo)
        problem = ""
        for attempt in range(1, self.attempts + 1):
            try:
                self.repo.git.push("--porcelain", "--quiet", remote, f"HEAD:refs/heads/{branch}")
                return
            except gitops.git.GitCommandError as exc:
                problem = _git_error(exc)
            if attempt == self.attempts:
                break
            self._sleep(self.delay * attempt)
            try:
                if mine:
                    self._refuse_their_changes(remote, branch, mine)
                self._rebase(remote, branch)
            except gitops.git.GitCommandError as exc:
                problem = _git_error(exc)
        raise PushFailed(
            f"cannot push to {remote} {branch} after {self.attempts} attempts: {problem}"
        )

    def push_target(self) -> tuple[str, str]:
        return push_target(self.repo)

    def uncommitted_receipts(self) -> list[str]:
        """Folders whose receipt differs from HEAD (staged or not): a run's unrecorded record."""
        out = self.repo.git.status(
            "--porcelain", "-z", "--untracked-files=all", "--", SUBMISSIONS_DIR
        )
        names = [entry[3:] for entry in out.split("\0") if len(entry) > 3]
        return sorted(
            n.rpartition("/")[0]
            for n in names
            if n.endswith(f"/{RECEIPT_FILE}") and n.count("/") == 2
        )

    def discard(self, rel: str) -> None:
        """Put a file back as HEAD has it (or remove it when HEAD has none)."""
        if gitops.read_at(self.repo, "HEAD", rel) is None:
            self.repo.git.rm("--cached", "--quiet", "--ignore-unmatch", "--", rel)
            (self.root / rel).unlink(missing_ok=True)
        else:
            self.repo.git.checkout("HEAD", "--", rel)

    def unpushed(self) -> list[str]:
        """Commits of HEAD the remote does not have (after fetching it), oldest first; none
        when there is nowhere to push (no remote, a detached HEAD)."""
        try:
            remote, branch = push_target(self.repo)
        except UsageError:
            return []
        try:
            self.repo.git.fetch("--quiet", remote, branch)
        except gitops.git.GitCommandError as exc:
            why = _git_error(exc)
            if "couldn't find remote ref" not in why:
                raise PushFailed(f"cannot read {remote} {branch}: {why}") from None
            span = "HEAD"  # the branch is not on the remote yet: all of it is unpushed
        else:
            span = "FETCH_HEAD..HEAD"
        out = self.repo.git.log("--reverse", "--format=%h %s", span)
        return [line for line in out.splitlines() if line.strip()]

    def _refuse_their_changes(self, remote: str, branch: str, mine: list[str]) -> None:
        self.repo.git.fetch("--quiet", remote, branch)
        out = self.repo.git.diff("--name-only", "-z", "HEAD~1", "FETCH_HEAD", "--", *mine)
        theirs = [p for p in out.split("\0") if p]
        if theirs:
            raise PushConflict(f"{remote} {branch} changed {', '.join(theirs)} too")

    def _sync(self) -> None:
        remote, branch = push_target(self.repo)
        try:
            self._rebase(remote, branch)
        except (PushConflict, gitops.git.GitCommandError) as exc:
            why = str(exc) if isinstance(exc, PushConflict) else _git_error(exc)
            raise PushFailed(f"cannot update from {remote} {branch}: {why}") from None

    def _rebase(self, remote: str, branch: str) -> None:
        env = {k: v for k, v in _identity_env(self.committer).items() if "COMMITTER" in k}
        try:
            with self.repo.git.custom_environment(**env):
                self.repo.git.pull("--rebase", "--quiet", remote, branch)
        except gitops.git.GitCommandError:
            if not _rebasing(self.repo):
                raise
            conflicts = self.repo.git.diff("--name-only", "--diff-filter=U", "-z").split("\0")
            self.repo.git.rebase("--abort")
            paths = ", ".join(p for p in conflicts if p) or "the same files"
            raise PushConflict(f"{remote} {branch} changed {paths} too") from None

    def drop_head_commit(self) -> None:
        """Undo the last commit and its files: a receipt that must not stand."""
        try:
            self.repo.git.reset("--keep", "HEAD~1")
        except gitops.git.GitCommandError as exc:
            raise OperationFailed(f"cannot undo the last commit: {_git_error(exc)}") from None


def push_target(repo: git.Repo) -> tuple[str, str]:
    """The remote and branch receipts go to: the upstream of the current branch, else origin."""
    try:
        branch = repo.active_branch
    except TypeError:
        raise UsageError("HEAD is detached: check out a branch to push receipts") from None
    tracking = branch.tracking_branch()
    if tracking is not None:
        return tracking.remote_name, tracking.remote_head
    if not repo.remotes:
        raise UsageError("the repository has no remote to push receipts to (or pass --no-push)")
    names = [r.name for r in repo.remotes]
    return ("origin" if "origin" in names else names[0]), branch.name


def _identity_env(who: Committer | None) -> dict[str, str]:
    who = who or FALLBACK_IDENTITY
    return {
        "GIT_AUTHOR_NAME": who.name,
        "GIT_AUTHOR_EMAIL": who.email,
        "GIT_COMMITTER_NAME": who.name,
        "GIT_COMMITTER_EMAIL": who.email,
    }


def _rebasing(repo: git.Repo) -> bool:
    git_dir = Path(repo.git_dir)
    return (git_dir / "rebase-merge").exists() or (git_dir / "rebase-apply").exists()


def _git_error(exc: BaseException) -> str:
    """git's own explanation, on one line, without GitPython's command echo."""
    stderr = getattr(exc, "stderr", None)
    text = stderr if isinstance(stderr, str) and stderr.strip() else str(exc)
    lines = [
        line.strip().removeprefix("stderr: ").strip("'").strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("hint:")
    ]
    return " ".join(lines)[:500] or "git failed"
