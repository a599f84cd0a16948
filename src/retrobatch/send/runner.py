"""`retrobatch run`: send what is merged and not yet delivered, at most once, receipts in git.

At most once rests on one order of steps per part: push a receipt saying which part is in flight
(state `sending`, the others `pending`, with the outcome of the previous part), and only then
talk to the server; after the last part, push the outcome. A run that dies leaves at most one
part `sending` on origin, which no run sends again (a person decides with `resolve --part N`).
The `sending` receipt carries the run's lease (`lease.py`), so a person cannot resolve a part
while the run may still be sending it. Two runs racing on one submission cannot both push a
claim: the loser's ledger finds the other's receipt and skips the submission.

Everything that could fail without the server (building, encoding and measuring every message,
addresses and login) is checked before the first claim is pushed.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Literal

import git

from retrobatch import addresses
from retrobatch.check.result import SubmissionReport
from retrobatch.check.submissions import check_folders
from retrobatch.errors import OperationFailed, UsageError
from retrobatch.findings import Finding
from retrobatch.repository import gitops, snapshot
from retrobatch.repository.ledger import Ledger, PushConflict, PushFailed
from retrobatch.repository.receipts import (
    RECEIPT_FILE,
    EmailPart,
    Lease,
    Receipt,
    figures_of,
    load_receipt,
    now_utc,
    timestamp,
)
from retrobatch.repository.settings import Settings
from retrobatch.repository.submissions import SUBMISSIONS_DIR, SubmissionFolder, scan
from retrobatch.send import lease
from retrobatch.send.batching import Part, part_name, split_batch
from retrobatch.send.mailer import (
    DEFAULT_RETRY_DELAYS,
    HOW_TO_CONFIGURE,
    Delivery,
    Mailer,
    SmtpConfig,
)
from retrobatch.send.message import (
    Envelope,
    build_message,
    encoded_size,
    envelope_problem,
    message_bytes,
    new_message_id,
)

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
    lease_minutes: float = lease.DEFAULT_MINUTES
    notify: Callable[[str], None] | None = None  # one line per retry, for the terminal


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
    def folder_rel(self) -> str:
        return self.sub.folder.rel


def run(
    repo: git.Repo, settings: Settings, options: RunOptions, env: Mapping[str, str]
) -> RunReport:
    """Send every submission due, as `options` say; the report says what became of each."""
    root = gitops.root_of(repo)
    sending = not options.dry_run and options.outbox is None
    ledger = Ledger(
        repo,
        settings.committer,
        push=options.push,
        attempts=options.push_attempts,
        delay=options.push_delay,
    )
    # what started the run is HEAD as checked out, before settling adds receipt commits
    report = RunReport(started_by_receipt_commit=started_by_receipt_commit(repo, env))
    if sending:
        settle(ledger)
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
        ledger.push_target()  # nowhere to push is a setup problem: before anything is sent
    ready = []
    for c in candidates:
        problem = _preflight(c, settings)
        if problem:
            report.outcomes.append(
                Outcome(c.id, "invalid", c.envelope.to, c.envelope.cc, detail=problem)
            )
        else:
            ready.append(c)
    held = lease.take(env, options.lease_minutes)
    start = gitops.head_commit(repo)
    with Mailer(config, retry_delays=options.retry_delays, notify=options.notify) as mailer:
        session = _Session(repo, settings, options, env, mailer, report, start, ledger, held)
        for c in ready:
            if report.push_failure is None:
                report.outcomes.append(_send(session, c))
            else:
                report.outcomes.append(Outcome(c.id, "not-attempted", c.envelope.to, c.envelope.cc))
    return report


def settle(ledger: Ledger) -> None:
    """Before planning, make origin hold every receipt this clone knows: commit what a run that
    stopped wrote and did not commit, push what it committed and did not push; else stop."""
    for folder_rel in ledger.uncommitted_receipts():
        _adopt(ledger, folder_rel)
    if not ledger.push_enabled:
        return
    waiting = ledger.unpushed()
    if not waiting:
        return
    try:
        ledger.push()
    except PushFailed as exc:
        raise OperationFailed(
            f"commits not on the remote, holding receipts: {'; '.join(waiting)}: {exc}; push "
            "them (git pull --rebase && git push) before the next run"
        ) from None


def _adopt(ledger: Ledger, folder_rel: str) -> None:
    """A receipt written by a run that stopped before committing it: its outcomes are true, its
    claims are not (a part is sent only after its claim was pushed), so parts it marked in
    flight that HEAD does not are back to pending; then it is committed, or discarded when it
    says nothing HEAD does not."""
    rel = f"{folder_rel}/{RECEIPT_FILE}"
    left, problems = load_receipt(ledger.root / folder_rel, ledger.root)
    committed = ledger.read(folder_rel)
    mine = (
        left is not None
        and left.run is not None
        and (
            committed is None
            or committed.run is None
            or committed.run.id == left.run.id
            or committed.state != "sending"
        )
    )
    if left is None or not mine:
        why = problems[0].message if problems else "not written by a run"
        raise OperationFailed(
            f"{rel}: changed but not committed ({why}): commit it or discard it "
            f"(git checkout HEAD -- {rel}) before running"
        )
    assert left is not None
    before = {p.attachment: p for p in committed.emails} if committed else {}
    for part in left.emails:
        old = before.get(part.attachment)
        if part.state == "sending" and (old is None or old.state != "sending"):
            part.state = "pending"
    news = [
        p
        for p in left.emails
        if p.state in ("sent", "failed")
        and ((old := before.get(p.attachment)) is None or old.state != p.state)
    ]
    if not news:
        ledger.discard(rel)
        return
    left.state = left.derive_state()
    ledger.record(
        f"retrobatch: {left.state} {left.submission} (recorded after a stop)",
        lambda: {folder_rel: left},
        push=False,
    )


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
    found = scan(root)
    for rel, kind in gitops.special_entries(repo, "HEAD", SUBMISSIONS_DIR):
        found.refuse(rel, kind)  # what run sends is the commit: a link there is refused too
    for name, problems in sorted(found.refused.items()):
        report.outcomes.append(Outcome(name, "invalid", findings=problems))
    snap = snapshot.take(root, settings, found)
    for seen in snap.submissions:
        folder, receipt, problems = seen.folder, seen.receipt, seen.receipt_findings
        if problems:
            report.outcomes.append(Outcome(folder.id, "invalid", findings=problems))
        elif receipt is None:
            due.append(folder)
        elif receipt.state == "sending":
            report.outcomes.append(Outcome(folder.id, "held", detail=held_detail(receipt)))
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
    for sub in check_folders(snap, due, as_of=as_of, named=named):
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
    if any(p.state == "pending" for p in receipt.emails):
        return None  # parts never tried (a run that stopped): not a retry
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
    _refuse_unsendable_settings(envelope)
    unsafe = envelope_problem(envelope, part_name(sub.id, 1, 1), settings.cc_allowed_domains)
    if unsafe is not None:
        report.outcomes.append(Outcome(sub.id, "invalid", detail=unsafe))
        return None
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


# --- before the point of no return ---------------------------------------------------------


def _refuse_unsendable_settings(envelope: Envelope) -> None:
    """A sender or destination that cannot go is the settings' fault: it stops the run (exit 2)."""
    for name, address in (("sender", envelope.sender), ("destination", envelope.to)):
        why = addresses.problem(address)
        if why:
            raise UsageError(f"retrobatch.yaml: {name} {address!r} {why}")


def _preflight(c: _Candidate, settings: Settings) -> str:
    """Why a candidate cannot go, found before anything is recorded; '' when it can.

    Its addresses were judged when it became a candidate (`_candidate`): here every message
    is built and measured."""
    probe = new_message_id(c.envelope.sender)
    for part in c.to_send:
        try:
            size = len(_message(c, part, probe, part.read(c.csv_path)))
        except (ValueError, UnicodeError, OSError) as exc:
            return f"{part.attachment}: the message cannot be built: {exc}: nothing was sent"
        if size > settings.max_email_bytes:
            return (
                f"{part.attachment}: the message is {size:,} bytes, over max_email_bytes "
                f"({settings.max_email_bytes:,}): nothing was sent"
            )
    return ""


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
    ledger: Ledger
    lease: Lease
    sent: list[str] = field(default_factory=list)  # every part that went out, for a failed push


class _Lost(Exception):
    """Another run recorded a receipt for the submission first (or took it over)."""


@dataclass(frozen=True)
class _Fact:
    """What the server said about one message of this run."""

    message_id: str
    delivery: Delivery
    at: str


def _send(session: _Session, c: _Candidate) -> Outcome:
    outcome = Outcome(c.id, "sending", c.envelope.to, c.envelope.cc)
    messages = {p.attachment: new_message_id(c.envelope.sender) for p in c.to_send}
    facts: dict[str, _Fact] = {}
    notes: list[str] = []
    ledger = session.ledger
    count = len(c.to_send)
    stopped = ""  # why this run sent no further part

    def claim() -> dict[str, Receipt]:
        try:
            current = ledger.read(c.folder_rel)
        except OperationFailed:  # someone else's receipt, and unreadable: not ours to send
            raise _Lost from None
        if current != c.previous:
            raise _Lost
        return {c.folder_rel: _sending_receipt(session, c, messages)}

    try:
        ledger.record(f"retrobatch: sending {c.id}" + _of(1, count), claim)
    except _Lost:
        outcome.status, outcome.detail = "skipped", "another run recorded a receipt for it first"
        return outcome
    except PushFailed as exc:
        if not isinstance(exc, PushConflict):
            ledger.drop_head_commit()  # nothing was sent: no claim may stand
        session.report.push_failure = _push_message(str(exc), session.sent, None, c.id)
        outcome.status = "not-attempted"
        return outcome
    for index, part in enumerate(c.to_send):
        if index:
            if not lease.may_start_part(session.lease):
                stopped = "the run's lease ran out: the parts left are pending"
                break
            step = partial(_apply, session, c, facts, notes, part.attachment, False)
            try:
                ledger.record(f"retrobatch: sending {c.id}" + _of(index + 1, count), step)
            except _Lost:
                stopped = "another run took the receipt over: this run sent no further part"
                break
            except PushFailed as exc:
                if not isinstance(exc, PushConflict):
                    ledger.drop_head_commit()  # its claim never reached the remote
                session.report.push_failure = _push_message(str(exc), session.sent, None, None)
                break
        outcome.parts.append(_deliver(session, c, part, messages[part.attachment], facts, outcome))
    final = partial(_apply, session, c, facts, notes, None, True)
    receipt: Receipt | None = None
    try:
        ledger.record(lambda r: f"retrobatch: {r.state} {c.id}", final)
    except PushConflict as exc:  # the commit was dropped: what origin holds stands
        session.report.push_failure = _push_message(
            f"{exc}; this run's outcome for {c.id} is not recorded", session.sent, None, None
        )
    except PushFailed as exc:
        commit = gitops.head_commit(session.repo)
        session.report.push_failure = _push_message(str(exc), session.sent, commit, None)
    receipt = ledger.read(c.folder_rel)
    assert receipt is not None
    outcome.status = receipt.state  # type: ignore[assignment]
    outcome.parts = [_line(receipt, line) for line in outcome.parts]
    if notes or stopped:
        outcome.detail = "; ".join([*notes, *([stopped] if stopped else [])])
    if receipt.state == "sending":
        outcome.detail = held_detail(receipt, own=True)
    return outcome


def _of(number: int, count: int) -> str:
    return f" part {number} of {count}" if count > 1 else ""


def _line(receipt: Receipt, line: PartLine) -> PartLine:
    recorded = receipt.part(line.attachment)
    if recorded is None or recorded.message_id != line.message_id:
        return line
    return replace(line, state=recorded.state)


def _deliver(
    session: _Session,
    c: _Candidate,
    part: Part,
    message_id: str,
    facts: dict[str, _Fact],
    outcome: Outcome,
) -> PartLine:
    """Send one part as its claim describes it, and remember what the server said."""
    data = part.read(c.csv_path)
    if hashlib.sha256(data).hexdigest() != part.sha256:  # a pull during the run changed it
        delivery = Delivery("refused", "the file changed during the run: not sent")
    else:
        data = _message(c, part, message_id, data)
        label = f"{c.id} {part.attachment}"
        delivery = session.mailer.deliver(c.envelope.sender, c.envelope.recipients, data, label)
    facts[part.attachment] = _Fact(message_id, delivery, timestamp())
    if delivery.outcome != "refused":
        went = f"{part.attachment} to {c.envelope.to} ({message_id})"
        session.sent.append(went if delivery.outcome == "accepted" else f"{went}, in doubt")
        if session.options.save_copies is not None:
            try:
                _save(session.options.save_copies, part, data)
            except OSError as exc:  # the receipt matters more than the copy: carry on
                outcome.detail = f"copy of {part.attachment} not saved: {exc}"
    state = {"accepted": "sent", "refused": "failed", "in-doubt": "sending"}[delivery.outcome]
    return PartLine(part.attachment, part.rows, part.size, state, message_id, delivery.reply)


def _apply(
    session: _Session,
    c: _Candidate,
    facts: dict[str, _Fact],
    notes: list[str],
    in_flight: str | None,
    release: bool,
) -> dict[str, Receipt]:
    """The receipt as the remote has it, with what this run learned on top: the server's
    answer wins over a person's resolution made meanwhile, and says so."""
    receipt = session.ledger.read(c.folder_rel)
    if receipt is None:
        return {}
    ours = receipt.run is not None and receipt.run.id == session.lease.id
    if in_flight is not None and not ours:
        raise _Lost  # a person forced a decision and another run claimed it since
    notes.clear()
    for attachment, fact in facts.items():
        part = receipt.part(attachment)
        if part is None or part.message_id != fact.message_id:
            if fact.delivery.outcome != "refused":
                notes.append(
                    f"{attachment} ({fact.message_id}) went out but its receipt now names "
                    "another attempt: impact.com may have it twice"
                )
            continue
        _record(part, fact, notes)
    if in_flight is not None:
        part = receipt.part(in_flight)
        if part is not None and part.state == "pending":
            part.state = "sending"
    if release and ours and receipt.run is not None:
        receipt.run.ended_at = timestamp()
    state = receipt.derive_state()
    receipt.state = state
    return {c.folder_rel: receipt}


def _record(part: EmailPart, fact: _Fact, notes: list[str]) -> None:
    delivery, decided = fact.delivery, part.resolution
    if delivery.outcome == "accepted":
        if decided is not None and decided.decision == "not-sent":
            part.note = (
                f"the server accepted it ({delivery.reply}) at {fact.at}, after {decided.by} "
                f"resolved it as not sent at {decided.at}: recorded as sent"
            )
            notes.append(f"{part.attachment}: {part.note}")
        part.state, part.smtp_response, part.sent_at, part.error = (
            "sent",
            delivery.reply,
            fact.at,
            None,
        )
    elif delivery.outcome == "refused":
        if decided is not None and decided.decision == "sent":
            part.note = (
                f"the server refused it ({delivery.reply}) at {fact.at}, after {decided.by} "
                f"resolved it as sent at {decided.at}: recorded as failed"
            )
            notes.append(f"{part.attachment}: {part.note}")
        part.state, part.error = "failed", delivery.reply
    elif decided is None:  # in doubt: a person's decision, if any, stands
        part.state, part.error = "sending", delivery.reply


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
            figures=figures_of(c.sub.stats) if c.sub.stats else None,
            emails=[],
        )
    receipt.state = "sending"
    receipt.run = replace(session.lease)
    for index, part in enumerate(c.to_send):
        fresh = EmailPart(
            attachment=part.attachment,
            state="sending" if index == 0 else "pending",
            sha256=part.sha256,
            rows=part.rows,
            message_id=messages[part.attachment],
            to=c.envelope.to,
            cc=list(c.envelope.cc),
            bytes=part.size,
        )
        existing = next(
            (i for i, p in enumerate(receipt.emails) if p.attachment == part.attachment), None
        )
        if existing is None:
            receipt.emails.append(fresh)
        else:
            receipt.emails[existing] = fresh
    return receipt


def held_detail(receipt: Receipt, *, own: bool = False) -> str:
    """What a person does about a receipt left `sending`: the parts in doubt and the command."""
    doubt = receipt.in_doubt()
    many = len(receipt.emails) > 1
    steps = []
    for number in doubt:
        part = receipt.emails[number - 1]
        option = f" --part {number}" if many else ""
        steps.append(
            f"{part.attachment} ({part.message_id}) may have been delivered: look for it in "
            f"impact.com, then retrobatch resolve {receipt.submission}{option} --sent|--not-sent"
        )
    text = "; ".join(steps)
    holder = lease.still_held(receipt.run) if not own else None
    if holder:
        text += f" (once the run is over: {holder})"
    return text


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
            f" Its receipts are committed locally (HEAD {local_commit[:12]}): the next run in "
            "this clone pushes them first; from another clone, origin shows the part in doubt."
        )
    return text
