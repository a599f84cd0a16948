"""`retrobatch resolve`: a person's decision on a receipt left `sending`.

Only a person can tell whether a message in doubt reached impact.com (impact.com's File
Submissions page shows it, or not). The decision is recorded in the receipt with who made it,
committed and pushed like every receipt: `sent` closes the submission; `not-sent` makes it
`failed` (or `partial` when other parts were accepted) so a later run sends it again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import git

from . import gitops
from .errors import UsageError
from .receipts import RECEIPT_FILE, Receipt, Resolution, load_receipt, timestamp, write_receipt
from .settings import Settings
from .submissions import SUBMISSIONS_DIR

Decision = Literal["sent", "not-sent"]
_ID = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}-[a-z0-9-]+")


@dataclass(frozen=True)
class ResolveResult:
    receipt: Receipt
    commit: str


def resolve(
    repo: git.Repo,
    settings: Settings,
    submission_id: str,
    decision: Decision,
    *,
    env: Mapping[str, str],
    note: str | None = None,
    push: bool = True,
    push_attempts: int = 4,
    push_delay: float = 2.0,
) -> ResolveResult:
    """Record the decision, commit and push it; PushFailed when it stays local."""
    root = gitops.root_of(repo)
    rel = f"{SUBMISSIONS_DIR}/{submission_id}"
    folder = root / rel
    if not _ID.fullmatch(submission_id) or not folder.is_dir():
        raise UsageError(f"{rel}: no such submission")
    receipt, problems = load_receipt(folder, root)
    if problems:
        raise UsageError(f"{problems[0].path}: {problems[0].message}")
    if receipt is None:
        raise UsageError(f"{submission_id} has no receipt: nothing was sent, nothing to resolve")
    if receipt.state != "sending":
        raise UsageError(f"{submission_id} is {receipt.state}, not sending: nothing to resolve")
    for part in receipt.emails:
        if part.state != "sending":
            continue
        if decision == "sent":
            part.state = "sent"
        else:
            part.state = "failed"
            part.error = (
                f"resolved as not sent (was: {part.error})"
                if part.error
                else ("resolved as not sent")
            )
    receipt.resolution = Resolution(decision, gitops.identity(repo, env), timestamp(), note)
    receipt.state = receipt.derive_state()
    write_receipt(folder, receipt)
    commit = gitops.commit_paths(
        repo,
        [f"{rel}/{RECEIPT_FILE}"],
        f"retrobatch: resolve {submission_id} as {decision}",
        settings.committer,
    )
    if push:
        try:
            gitops.push(
                repo, committer=settings.committer, attempts=push_attempts, delay=push_delay
            )
        except gitops.PushConflict as exc:
            gitops.drop_head_commit(repo)
            raise gitops.PushFailed(
                f"{exc}. The receipt changed on the remote meanwhile: nothing was recorded; "
                "pull and decide again"
            ) from None
        except gitops.PushFailed as exc:
            raise gitops.PushFailed(
                f"{exc}. The resolution is committed locally (HEAD {commit[:12]}): "
                "push it (git push) before the next run"
            ) from None
    return ResolveResult(receipt, commit)
