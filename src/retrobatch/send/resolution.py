"""`retrobatch resolve`: a person's decision on a part left `sending`.

Only a person can tell whether a message in doubt reached impact.com (impact.com's File
Submissions page shows it, or not). The decision applies to one part (`--part N` when several
are in doubt) and is recorded on it and in the receipt with who made it, through the ledger like
every receipt: `sent` closes the part; `not-sent` makes it `failed`, so a later
`run --retry-failed` sends it again (a new Message-ID). While the run that holds the receipt may
still be sending, `resolve` refuses unless forced: that run's 250 would contradict the guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import git

from retrobatch.errors import OperationFailed, UsageError
from retrobatch.repository import gitops
from retrobatch.repository.ledger import Ledger
from retrobatch.repository.receipts import Receipt, Resolution, timestamp
from retrobatch.repository.settings import Settings
from retrobatch.repository.submissions import SUBMISSIONS_DIR
from retrobatch.send import lease

Decision = Literal["sent", "not-sent"]
_ID = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}-[a-z0-9-]+")


class StillHeld(OperationFailed):
    """The run that holds the receipt may still be sending (exit 1)."""


@dataclass(frozen=True)
class ResolveResult:
    receipt: Receipt
    part: int  # the part decided (1-based)
    commit: str | None


def resolve(
    repo: git.Repo,
    settings: Settings,
    submission_id: str,
    decision: Decision,
    *,
    env: Mapping[str, str],
    note: str | None = None,
    part: int | None = None,
    force: bool = False,
    push: bool = True,
    push_attempts: int = 4,
    push_delay: float = 2.0,
) -> ResolveResult:
    """Record the decision on the part in doubt, commit and push it; PushFailed when it stays
    local, StillHeld while the run holding it may be alive (unless `force`)."""
    root = gitops.root_of(repo)
    rel = f"{SUBMISSIONS_DIR}/{submission_id}"
    if not _ID.fullmatch(submission_id) or not (root / rel).is_dir():
        raise UsageError(f"{rel}: no such submission")
    ledger = Ledger(repo, settings.committer, push=push, attempts=push_attempts, delay=push_delay)
    who = gitops.identity(repo, env)
    decided: list[tuple[Receipt, int]] = []

    def update() -> dict[str, Receipt]:
        receipt = ledger.read(rel)
        if receipt is None:
            raise UsageError(
                f"{submission_id} has no receipt: nothing was sent, nothing to resolve"
            )
        number = _part_in_doubt(receipt, part)
        holder = lease.still_held(receipt.run)
        if holder and not force:
            raise StillHeld(
                f"{submission_id}: {holder}; resolving now could contradict what that run "
                "records: wait until it ends, or pass --force if you know it stopped"
            )
        chosen = receipt.emails[number - 1]
        resolution = Resolution(decision, who, timestamp(), note)
        chosen.resolution = resolution
        if decision == "sent":
            chosen.state = "sent"
        else:
            chosen.state = "failed"
            chosen.error = (
                f"resolved as not sent (was: {chosen.error})"
                if chosen.error
                else "resolved as not sent"
            )
        receipt.resolution = resolution
        receipt.state = receipt.derive_state()
        decided[:] = [(receipt, number)]
        return {rel: receipt}

    label = f" part {part}" if part is not None else ""
    commit = ledger.record(f"retrobatch: resolve {submission_id}{label} as {decision}", update)
    receipt, number = decided[0]
    return ResolveResult(receipt, number, commit)


def _part_in_doubt(receipt: Receipt, part: int | None) -> int:
    doubt = receipt.in_doubt()
    sid = receipt.submission
    if not doubt:
        raise UsageError(f"{sid} is {receipt.state}, no part is sending: nothing to resolve")
    if part is None:
        if len(doubt) > 1:
            listed = ", ".join(str(n) for n in doubt)
            raise UsageError(f"{sid}: parts {listed} are in doubt: decide each with --part N")
        return doubt[0]
    if part not in doubt:
        state = receipt.emails[part - 1].state if 0 < part <= len(receipt.emails) else "not a part"
        listed = ", ".join(str(n) for n in doubt)
        raise UsageError(f"{sid}: part {part} is {state}, not in doubt (in doubt: {listed})")
    return part
