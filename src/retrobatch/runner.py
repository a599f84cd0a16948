"""`retrobatch run`: send what is merged and not yet delivered, at most once, receipts in git.

At most once rests on one order of steps per submission: write a `sending` receipt holding the
Message-IDs, commit and push it, and only then talk to the server; then record what each part
became and commit and push that. A run that dies in between leaves `sending`, which no run
sends again (a person decides with `retrobatch resolve`). Two runs racing on one submission
cannot both push a `sending` receipt: the loser's rebase conflicts and it skips the submission.

Which submissions (README.md, "Sending: run and resolve"): no receipt; `partial` (only
the parts not accepted); `failed` when `--retry-failed` is given, or, unless a receipt commit
started this run, when its files changed since the attempt or a person resolved it as not sent.
A run counts as started by a receipt commit when HEAD only touches `submissions/*/receipt.yaml`
and the run was not started by hand: outside GitHub (no GITHUB_EVENT_NAME) and on `push`
events, HEAD decides; `workflow_dispatch` and other events are a person's or a schedule's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Literal

import git

from . import gitops
from .batching import Part, split_batch
from .checker import SubmissionReport, check_folders
from .errors import UsageError
from .findings import Finding
from .mailer import DEFAULT_RETRY_DELAYS, HOW_TO_CONFIGURE, Delivery, Mailer, SmtpConfig
from .message import Envelope, build_message, encoded_size, message_bytes, new_message_id
from .receipts import (
    RECEIPT_FILE,
    EmailPart,
    Receipt,
    load_receipt,
    now_utc,
    timestamp,
    write_receipt,
)
from .settings import Settings
from .submissions import SUBMISSIONS_DIR, SubmissionFolder, discover

Status = Literal[
    "sent",  # every part accepted by this run
    "partial",  # some parts accepted, others refused
    "failed",  # no part accepted
    "sending",  # a part is in doubt after this run
    "held",  # found in `sending` from an earlier run: a person must resolve it
    "invalid",  # not sent: findings, or its parts no longer match its receipt
    "not-retried",  # `failed` earlier and nothing asks for a retry
    "skipped",  # another run recorded a receipt for it first
    "not-attempted",  # the run stopped before it (a push that failed)
    "would-send",  # --dry-run
    "written",  # --outbox
]
FAILING: frozenset[str] = frozenset({"partial", "failed", "sending", "held", "invalid"})


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool = False
    push: bool = True
    outbox: Path | None = None
    save_copies: Path | None = None
    retry_failed: bool = False
    as_of: dt.datetime | None = None
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    push_attempts: int = 4
    push_delay: float = 2.0


@dataclass(frozen=True)
class PartLine:
    """One attachment as this run handled it (or would)."""

    attachment: str
    rows: int
    size: int
    state: str  # would-send | written | sent | failed | sending
    message_id: str | None = None
    reply: str | None = None
    file: Path | None = None  # the .eml written by --outbox


@dataclass
class Outcome:
    id: str
    status: Status
    to: str | None = None
    cc: tuple[str, ...] = ()
    parts: list[PartLine] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""


@dataclass
class RunReport:
    outcomes: list[Outcome] = field(default_factory=list)
    push_failure: str | None = None  # says exactly what was already sent
    started_by_receipt_commit: bool = False

    @property
    def exit_code(self) -> int:
        failing = self.push_failure is not None or any(o.status in FAILING for o in self.outcomes)
        return 1 if failing else 0


@dataclass
class _Candidate:
    sub: SubmissionReport
    csv_path: Path
    envelope: Envelope
    to_send: list[Part]  # every part, or those a `partial` receipt has not seen accepted
    previous: Receipt | None
    event_type: int

    @property
    def id(self) -> str:
        return self.sub.id

    @property
    def receipt_rel(self) -> str:
        return f"{self.sub.folder.rel}/{RECEIPT_FILE}"


def run(
    repo: git.Repo, settings: Settings, options: RunOptions, env: Mapping[str, str]
) -> RunReport:
    """Send every submission due, as `options` say; the report says what became of each."""
    root = gitops.root_of(repo)
    report = RunReport(started_by_receipt_commit=started_by_receipt_commit(repo, env))
    candidates = _plan(repo, root, settings, options, report)
    if not candidates:
        return report
    if options.dry_run:
        report.outcomes += [_preview(c) for c in candidates]
        return report
    for folder in (options.outbox, options.save_copies):
        if folder is not None:
            _make_folder(folder)
    if options.outbox is not None:
        report.outcomes += [_write_outbox(c, options.outbox) for c in candidates]
        return report
    config = SmtpConfig.from_env(env)
    if config is None:
        names = ", ".join(c.id for c in candidates)
        raise UsageError(f"no SMTP server configured to send {names}: {HOW_TO_CONFIGURE}")
    for c in candidates:
        if gitops.is_dirty(repo, c.sub.folder.rel):
            raise UsageError(
                f"{c.sub.folder.rel} has uncommitted changes: run sends committed files only"
            )
    if options.push:
        gitops.push_target(repo)  # nowhere to push is a setup problem: before anything is sent
    start = gitops.head_commit(repo)
    with Mailer(config, retry_delays=options.retry_delays) as mailer:
        session = _Session(repo, settings, options, env, mailer, report, start)
        for c in candidates:
            if report.push_failure is None:
                report.outcomes.append(_send(session, c))
            else:
                report.outcomes.append(Outcome(c.id, "not-attempted", c.envelope.to, c.envelope.cc))
    return report


def started_by_receipt_commit(repo: git.Repo, env: Mapping[str, str]) -> bool:
    if env.get("GITHUB_EVENT_NAME", "push") != "push":
        return False
    paths = gitops.changed_in_head(repo)
    return bool(paths) and all(_is_receipt(p) for p in paths or ())


def _is_receipt(rel: str) -> bool:
    parts = rel.split("/")
    return len(parts) == 3 and parts[0] == SUBMISSIONS_DIR and parts[2] == RECEIPT_FILE


# --- choosing what to send ------------------------------------------------------------------


def _plan(
    repo: git.Repo, root: Path, settings: Settings, options: RunOptions, report: RunReport
) -> list[_Candidate]:
    due: list[SubmissionFolder] = []
    named: set[str] = set()
    for folder in discover(root):
        receipt, problems = load_receipt(folder.folder, root)
        if problems:
            report.outcomes.append(Outcome(folder.id, "invalid", findings=problems))
        elif receipt is None:
            due.append(folder)
        elif receipt.state == "sending":
            report.outcomes.append(
                Outcome(
                    folder.id,
                    "held",
                    detail="a part may have been delivered: decide with "
                    f"retrobatch resolve {folder.id} --sent|--not-sent",
                )
            )
        elif receipt.state == "partial":
            due.append(folder)
            named.add(folder.id)
        elif receipt.state == "failed":
            why_not = _why_not_retry(repo, folder, receipt, options, report)
            if why_not is None:
                due.append(folder)
            else:
                report.outcomes.append(Outcome(folder.id, "not-retried", detail=why_not))
    as_of = options.as_of or now_utc()
    candidates = []
    for sub in check_folders(root, settings, due, as_of=as_of, named=named):
        candidate = _candidate(root, sub, settings, report)
        if candidate is not None:
            candidates.append(candidate)
    return candidates


def _why_not_retry(
    repo: git.Repo,
    folder: SubmissionFolder,
    receipt: Receipt,
    options: RunOptions,
    report: RunReport,
) -> str | None:
    """None when a `failed` submission is to be sent again, else why it is not."""
    if options.retry_failed:
        return None
    if report.started_by_receipt_commit:
        return (
            "failed earlier; a run started by a receipt commit (HEAD changes only receipts) "
            "retries nothing: run with --retry-failed"
        )
    if receipt.resolution is not None and receipt.resolution.decision == "not-sent":
        return None
    changed = (
        gitops.changed_between(repo, receipt.source_commit, "HEAD", folder.rel)
        if receipt.source_commit
        else None
    )
    if changed is None:
        return (
            "failed earlier, from a commit this clone does not have (a shallow clone?): "
            "fetch the history or run with --retry-failed"
        )
    if any(not _is_receipt(p) for p in changed):
        return None
    return "failed earlier and unchanged since: change its files or run with --retry-failed"


def _candidate(
    root: Path, sub: SubmissionReport, settings: Settings, report: RunReport
) -> _Candidate | None:
    errors = [f for f in sub.findings if f.severity == "error"]
    if errors or sub.manifest is None or sub.csv_path is None:
        report.outcomes.append(Outcome(sub.id, "invalid", findings=errors))
        return None
    manifest = sub.manifest
    destination = settings.destination(manifest.event_type)
    assert destination is not None  # an unknown event type is an error finding
    envelope = Envelope(settings.sender, destination.address, manifest.cc)
    split = split_batch(
        sub.csv_path,
        sub.csv_path.relative_to(root).as_posix(),
        sub.id,
        manifest.template,
        settings.max_email_bytes,
        partial(encoded_size, envelope),
    )
    if split.findings:
        report.outcomes.append(
            Outcome(sub.id, "invalid", envelope.to, envelope.cc, [], split.findings)
        )
        return None
    to_send = split.parts
    previous = sub.receipt
    if previous is not None and previous.state == "partial":
        mismatch = _parts_mismatch(split.parts, previous)
        if mismatch:
            report.outcomes.append(
                Outcome(sub.id, "invalid", envelope.to, envelope.cc, detail=mismatch)
            )
            return None
        to_send = [p for p in split.parts if _state_of(previous, p) != "sent"]
    return _Candidate(sub, sub.csv_path, envelope, to_send, previous, manifest.event_type)


def _parts_mismatch(parts: list[Part], receipt: Receipt) -> str:
    """Why this split cannot finish the receipt's (a setting changed since), or ''."""
    recorded = {p.attachment: p.sha256 for p in receipt.emails}
    now = {p.attachment: p.sha256 for p in parts}
    if recorded == now:
        return ""
    return (
        "its parts no longer match the receipt (max_email_bytes, the sender or the cc changed "
        "since): nothing was sent; send the remaining rows as a new submission"
    )


def _state_of(receipt: Receipt, part: Part) -> str | None:
    recorded = receipt.part(part.attachment)
    return recorded.state if recorded else None


# --- previews -------------------------------------------------------------------------------


def _preview(c: _Candidate) -> Outcome:
    lines = [PartLine(p.attachment, p.rows, p.size, "would-send") for p in c.to_send]
    return Outcome(c.id, "would-send", c.envelope.to, c.envelope.cc, lines)


def _write_outbox(c: _Candidate, outbox: Path) -> Outcome:
    """The messages as they would go, each with its own Message-ID: a preview, not a send."""
    outcome = Outcome(c.id, "written", c.envelope.to, c.envelope.cc)
    for part in c.to_send:
        message_id = new_message_id(c.envelope.sender)
        path = _save(outbox, part, _message(c, part, message_id, part.read(c.csv_path)))
        outcome.parts.append(
            PartLine(part.attachment, part.rows, part.size, "written", message_id, file=path)
        )
    return outcome


def _message(c: _Candidate, part: Part, message_id: str, data: bytes) -> bytes:
    return message_bytes(build_message(c.envelope, part.attachment, data, message_id))


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot create: {exc.strerror or exc}") from None


def _save(folder: Path, part: Part, data: bytes) -> Path:
    path = folder / (part.attachment.removesuffix(".csv") + ".eml")
    path.write_bytes(data)
    return path


# --- sending --------------------------------------------------------------------------------


@dataclass
class _Session:
    """What sending needs throughout one run."""

    repo: git.Repo
    settings: Settings
    options: RunOptions
    env: Mapping[str, str]
    mailer: Mailer
    report: RunReport
    source_commit: str  # HEAD when the run started: the commit whose files it sends
    sent: list[str] = field(default_factory=list)  # every part that went out, for a failed push


def _send(session: _Session, c: _Candidate) -> Outcome:
    outcome = Outcome(c.id, "sending", c.envelope.to, c.envelope.cc)
    messages = {p.attachment: new_message_id(c.envelope.sender) for p in c.to_send}
    receipt = _sending_receipt(session, c, messages)
    folder = c.sub.folder.folder
    write_receipt(folder, receipt)
    _commit(session, c, "sending")
    if session.options.push:
        try:
            _push(session)
        except gitops.PushFailed as exc:
            gitops.drop_head_commit(session.repo)  # nothing was sent: no `sending` may stand
            if isinstance(exc, gitops.PushConflict) and c.receipt_rel in exc.paths:
                outcome.status = "skipped"
                outcome.detail = "another run recorded a receipt for it first"
                return outcome
            session.report.push_failure = _push_message(str(exc), session.sent, None, c.id)
            outcome.status = "not-attempted"
            return outcome
    for part in c.to_send:
        recorded = receipt.part(part.attachment)
        assert recorded is not None
        outcome.parts.append(_deliver(session, c, part, recorded, outcome))
    receipt.state = receipt.derive_state()
    outcome.status = receipt.state  # type: ignore[assignment]
    write_receipt(folder, receipt)
    commit = _commit(session, c, receipt.state)
    if session.options.push:
        try:
            _push(session)
        except gitops.PushFailed as exc:
            session.report.push_failure = _push_message(str(exc), session.sent, commit, None)
    return outcome


def _deliver(
    session: _Session, c: _Candidate, part: Part, recorded: EmailPart, outcome: Outcome
) -> PartLine:
    """Send one part as the receipt describes it, and record what became of it."""
    data = part.read(c.csv_path)
    if hashlib.sha256(data).hexdigest() != part.sha256:  # a pull during the run changed it
        delivery = Delivery("refused", "the file changed during the run: not sent")
    else:
        data = _message(c, part, recorded.message_id, data)
        delivery = session.mailer.deliver(c.envelope.sender, c.envelope.recipients, data)
    _record(recorded, delivery)
    if delivery.outcome != "refused":
        went = f"{part.attachment} to {c.envelope.to} ({recorded.message_id})"
        session.sent.append(went if delivery.outcome == "accepted" else f"{went}, in doubt")
        if session.options.save_copies is not None:
            try:
                _save(session.options.save_copies, part, data)
            except OSError as exc:  # the receipt matters more than the copy: carry on
                outcome.detail = f"copy of {part.attachment} not saved: {exc}"
    return PartLine(
        part.attachment, part.rows, part.size, recorded.state, recorded.message_id, delivery.reply
    )


def _commit(session: _Session, c: _Candidate, state: str) -> str:
    return gitops.commit_paths(
        session.repo, [c.receipt_rel], f"retrobatch: {state} {c.id}", session.settings.committer
    )


def _sending_receipt(session: _Session, c: _Candidate, messages: dict[str, str]) -> Receipt:
    when = timestamp()
    previous = c.previous
    if previous is not None and previous.state == "partial":
        receipt = replace(previous, emails=[replace(p) for p in previous.emails])
        receipt.attempts += 1
    else:
        receipt = Receipt(
            submission=c.id,
            state="sending",
            source_commit=session.source_commit,
            sent_at=when,
            sent_by=gitops.identity(session.repo, session.env),
            event_type=c.event_type,
            attempts=(previous.attempts if previous else 0) + 1,
            emails=[],
        )
    receipt.state = "sending"
    for part in c.to_send:
        fresh = EmailPart(
            attachment=part.attachment,
            state="sending",
            sha256=part.sha256,
            rows=part.rows,
            message_id=messages[part.attachment],
            to=c.envelope.to,
            cc=list(c.envelope.cc),
            bytes=part.size,
        )
        index = next(
            (i for i, p in enumerate(receipt.emails) if p.attachment == part.attachment), None
        )
        if index is None:
            receipt.emails.append(fresh)
        else:
            receipt.emails[index] = fresh
    return receipt


def _record(part: EmailPart, delivery: Delivery) -> None:
    if delivery.outcome == "accepted":
        part.state, part.smtp_response, part.sent_at = "sent", delivery.reply, timestamp()
    elif delivery.outcome == "refused":
        part.state, part.error = "failed", delivery.reply
    else:
        part.state, part.error = "sending", delivery.reply


def _push(session: _Session) -> None:
    gitops.push(
        session.repo,
        committer=session.settings.committer,
        attempts=session.options.push_attempts,
        delay=session.options.push_delay,
    )


def _push_message(
    problem: str, sent_so_far: list[str], local_commit: str | None, not_sent: str | None
) -> str:
    """What a person needs after a failed push: what already went out, where the receipts are."""
    sent = "; ".join(sent_so_far) if sent_so_far else "nothing"
    text = f"{problem}. Already sent by this run: {sent}."
    if not_sent:
        text += f" {not_sent} was not sent."
    if local_commit:
        text += (
            f" Its receipts are committed locally (HEAD {local_commit[:12]}): push them "
            "(git push) before the next run, or that run will see the submission as in doubt."
        )
    return text
