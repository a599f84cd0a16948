import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import git
import pytest
from pytest_httpserver import HTTPServer

from retrobatch.cli import main
from retrobatch.reconcile.api import Credentials, ImpactClient, RetryPolicy
from retrobatch.reconcile.matching import KEPT_ERRORS, reconcile_repository
from retrobatch.reconcile.rows import explain_errors
from retrobatch.report import reconcile as report
from retrobatch.repository.ledger import write_receipt
from retrobatch.repository.receipts import (
    EmailPart,
    Processing,
    Receipt,
    load_receipt,
    parse_receipt,
)
from retrobatch.repository.settings import Settings
from retrobatch.send.batching import split_batch
from support.impact_fake import SID, TOKEN, FakeFile, FakeImpact
from support.repo_factory import RepoFactory, item_rows
from support.times import utc_text

SUB = "2026-11-20-checkout-outage"
SENT = dt.datetime(2026, 11, 27, 5, 0, tzinfo=dt.UTC)
SETTINGS = Settings(sender="conversions@brand.example", destinations={})


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def part(name: str, data: bytes, rows: int, sent_at: dt.datetime = SENT) -> EmailPart:
    return EmailPart(
        attachment=name,
        state="sent",
        sha256=sha(data),
        rows=rows,
        message_id=f"<{name}@brand.example>",
        to="a1b2c3@inbound.example",
        sent_at=utc_text(sent_at),
    )


def sent_repo(
    root: Path, csv: bytes, sent_at: dt.datetime = SENT, ids: tuple[str, ...] = (SUB,)
) -> tuple[RepoFactory, Path]:
    """A repository holding single-part submissions that `run` has sent; the first's folder."""
    factory = RepoFactory(root)
    for sub_id in ids:
        folder = factory.submission(sub_id, csv)
        rows = csv.count(b"\n") - 1
        receipt = Receipt(
            sub_id,
            "sent",
            emails=[part(f"{sub_id}.csv", csv, rows, sent_at)],
            sent_at=utc_text(sent_at),
        )
        write_receipt(folder, receipt)
    factory.commit("sent")
    return factory, root / "submissions" / ids[0]


def receipt_of(folder: Path, root: Path) -> Receipt:
    receipt, problems = load_receipt(folder, root)
    assert receipt is not None, problems
    return receipt


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeImpact:
    return FakeImpact(httpserver)


@pytest.fixture
def api(fake: FakeImpact) -> ImpactClient:
    return ImpactClient(
        Credentials(SID, TOKEN), fake.base_url, page_size=2, retry=RetryPolicy(sleep=lambda _: None)
    )


CSV = item_rows("A-1", "A-2", "A-3").encode()  # A-1 on lines 2-3, A-2 on 4-5, A-3 on 6-7


def test_match_on_page_two_goes_queued_to_complete_and_the_receipt_to_processed(
    tmp_path: Path, fake: FakeImpact, api: ImpactClient
) -> None:
    _, folder = sent_repo(tmp_path, CSV)
    fake.add(
        FakeFile("F-other-1", "2026-11-19-other.csv", "2026-11-27T05:01:00Z"),
        FakeFile("F-other-2", "2026-11-19-other.part-1-of-2.csv", "2026-11-27T05:02:00Z"),
        FakeFile(
            "F-mine",
            f"{SUB}.csv",
            "2026-11-26T21:03:00-08:00",
            statuses=["Queued", "Queued", "In Progress", "Complete"],
            total_records=6,
            errors=[
                {
                    "Line": "4",
                    "OrderId": "A-2",
                    "Sku": "SKU-1",
                    "Status": "Validation",
                    "Reason": "OID_DUPLICATE",
                },
            ],
        ),
    )
    fake.fail(429, retry_after="3")
    fake.fail(500)
    now = SENT + dt.timedelta(hours=1)
    seen = []
    for _ in range(4):
        result = reconcile_repository(tmp_path, SETTINGS, api, now)
        receipt = receipt_of(folder, tmp_path)
        seen.append((bool(result.changed), receipt.processing[0].status, receipt.state))
    assert seen == [
        (True, "Queued", "sent"),
        (False, "Queued", "sent"),  # nothing new: receipt untouched
        (True, "In Progress", "sent"),
        (True, "Complete", "processed"),
    ]
    (entry,) = receipt.processing
    assert (entry.batch_id, entry.type, entry.total_records, entry.total_errors) == (
        "F-mine",
        "Conversion",
        6,
        1,
    )
    assert entry.submitted_at == "2026-11-27T05:03:00Z"
    assert entry.completed_at == "2026-11-27T14:10:00Z"
    assert entry.checked_at == "2026-11-27T06:00:00Z"  # now
    assert entry.errors == [
        {
            "line": 4,
            "order_id": "A-2",
            "sku": "SKU-1",
            "status": "Validation",
            "reason": "OID_DUPLICATE",
        }
    ]
    calls = len(fake.requests)
    assert reconcile_repository(tmp_path, SETTINGS, api, now).changed == []
    assert len(fake.requests) == calls  # processed: never asked again


def test_event_code_and_uri_of_v14_errors_are_kept_in_the_receipt(
    tmp_path: Path, fake: FakeImpact, api: ImpactClient
) -> None:
    # v14 reference: ErrorDetail items carry EventCode (mobile actions) and Uri.
    _, folder = sent_repo(tmp_path, CSV)
    uri = f"/Advertisers/{SID}/FTPFileSubmissions/F-app/ErrorDetails/1"
    error = {"Line": "2", "OrderId": "A-1", "Status": "Validation", "Reason": "NO_ITEM"}
    fake.add(
        FakeFile(
            "F-app",
            f"{SUB}.csv",
            "2026-11-27T05:03:00Z",
            errors=[{**error, "EventCode": "purchase", "Uri": uri}],
        )
    )
    reconcile_repository(tmp_path, SETTINGS, api, SENT + dt.timedelta(hours=1))
    [entry] = receipt_of(folder, tmp_path).processing
    assert entry.errors[0]["event_code"] == "purchase"
    assert entry.errors[0]["uri"] == uri
    [mapped] = explain_errors(tmp_path, receipt_of(folder, tmp_path))
    assert (mapped.event_code, mapped.caught_by) == ("purchase", ("csv.item-incomplete",))


def test_a_partial_receipt_asks_only_for_accepted_parts_and_stays_partial(
    tmp_path: Path, fake: FakeImpact, api: ImpactClient
) -> None:
    factory = RepoFactory(tmp_path)
    folder = factory.submission(SUB, CSV)
    one, two = (f"{SUB}.part-{n}-of-2.csv" for n in (1, 2))
    refused = replace(part(two, b"x", 1), state="failed", error="552 too big")
    write_receipt(folder, Receipt(SUB, "partial", emails=[part(one, b"x", 1), refused]))
    fake.add(
        FakeFile("F-1", one, "2026-11-27T05:01:00Z"), FakeFile("F-2", two, "2026-11-27T05:02:00Z")
    )
    reconcile_repository(tmp_path, SETTINGS, api, SENT + dt.timedelta(hours=1))
    receipt = receipt_of(folder, tmp_path)
    assert [(p.attachment, p.batch_id, p.status) for p in receipt.processing] == [
        (one, "F-1", "Complete")
    ]
    assert receipt.state == "partial"


def test_several_files_with_the_name_match_the_earliest_after_sending(
    tmp_path: Path, fake: FakeImpact, api: ImpactClient
) -> None:
    _, folder = sent_repo(tmp_path, CSV)
    fake.add(
        FakeFile("F-before", f"{SUB}.csv", "2026-11-27T04:59:59Z"),
        FakeFile("F-later", f"{SUB}.csv", "2026-11-27T07:00:00Z"),
        FakeFile("F-first", f"{SUB}.csv", "2026-11-27T06:00:00Z"),
        FakeFile("F-similar", f"{SUB}.CSV", "2026-11-27T05:00:01Z"),
    )
    reconcile_repository(tmp_path, SETTINGS, api, SENT + dt.timedelta(hours=3))
    assert receipt_of(folder, tmp_path).processing[0].batch_id == "F-first"


def test_unmatched_only_after_the_window_and_then_final(
    tmp_path: Path, fake: FakeImpact, api: ImpactClient
) -> None:
    _, folder = sent_repo(tmp_path, CSV)
    fake.add(FakeFile("F-too-late", f"{SUB}.csv", "2026-11-29T05:00:01Z"))  # 48 h + 1 s
    early = reconcile_repository(tmp_path, SETTINGS, api, SENT + dt.timedelta(hours=47))
    assert early.changed == [] and receipt_of(folder, tmp_path).processing == []
    late = reconcile_repository(tmp_path, SETTINGS, api, SENT + dt.timedelta(hours=48))
    (entry,) = receipt_of(folder, tmp_path).processing
    assert [c.folder.id for c in late.changed] == [SUB]
    assert entry.status == "unmatched" and entry.batch_id is None
    assert entry.searched is not None and f"{SUB}.csv" in entry.searched
    assert "2026-11-27T05:00:00Z" in entry.searched and "2026-11-29T05:00:00Z" in entry.searched
    assert receipt_of(folder, tmp_path).state == "sent"
    calls = len(fake.requests)
    reconcile_repository(tmp_path, SETTINGS, api, SENT + dt.timedelta(hours=90))
    assert len(fake.requests) == calls


def test_errors_are_mapped_to_rows_and_order_ids(tmp_path: Path) -> None:
    _, folder = sent_repo(tmp_path, CSV)
    receipt = receipt_of(folder, tmp_path)
    receipt.processing[:] = []
    receipt.processing.append(
        _complete(
            f"{SUB}.csv",
            [
                {
                    "line": 4,
                    "order_id": "A-2",
                    "sku": "SKU-1",
                    "status": "Validation",
                    "reason": "OID_DUPLICATE",
                },
                {
                    "line": 7,
                    "order_id": "",
                    "sku": "",
                    "status": "Contract Error",
                    "reason": "SOMETHING_NEW",
                },
                {
                    "line": 3,
                    "order_id": "Z-9",
                    "sku": "",
                    "status": "Validation",
                    "reason": "MALFORMED",
                },
            ],
        )
    )
    first, second, third = explain_errors(tmp_path, receipt)
    assert (first.csv_path, first.csv_line, first.order_id, first.note) == (
        f"submissions/{SUB}/conversions.csv",
        4,
        "A-2",
        None,
    )
    assert first.explanation is not None and "consecutive" in first.explanation
    assert (second.csv_line, second.order_id, second.reason, second.explanation) == (
        7,
        "A-3",
        "SOMETHING_NEW",
        None,
    )
    assert (third.csv_line, third.order_id) == (3, "A-1")
    assert third.note == "impact.com reports OrderId 'Z-9' for this line"


def _sent_with_oid_duplicate(tmp_path: Path) -> tuple[Path, Receipt]:
    """A sent batch whose receipt holds impact.com's OID_DUPLICATE on line 4."""
    _, folder = sent_repo(tmp_path, CSV)
    receipt = receipt_of(folder, tmp_path)
    error = {
        "line": 4,
        "order_id": "A-2",
        "sku": "SKU-1",
        "status": "Validation",
        "reason": "OID_DUPLICATE",
    }
    receipt.processing.append(_complete(f"{SUB}.csv", [error]))
    return folder, receipt


def test_mapped_errors_read_like_findings(tmp_path: Path) -> None:
    _, receipt = _sent_with_oid_duplicate(tmp_path)
    assert report.error_lines(explain_errors(tmp_path, receipt)) == [
        f"submissions/{SUB}/conversions.csv:4: OrderId A-2: Sku SKU-1: OID_DUPLICATE (Validation): "
        "the OrderId was already used for this event type, or an order's lines were not "
        f"consecutive [{SUB}.csv line 4]"
    ]


def test_the_guide_says_once_per_code_what_to_do_and_which_finding_catches_it(
    tmp_path: Path,
) -> None:
    _, receipt = _sent_with_oid_duplicate(tmp_path)
    mapped = explain_errors(tmp_path, receipt)
    unknown = replace(mapped[0], reason="SOMETHING_NEW", explanation=None, fix=None)
    guide = report.error_guide([*mapped, mapped[0], unknown])
    assert guide[0].startswith("OID_DUPLICATE (2 rows): keep each order's lines together")
    assert "check now catches this as csv.order-not-contiguous, csv.duplicate-row" in guide[0]
    assert guide[1].startswith("SOMETHING_NEW (1 row): not in retrobatch's catalogue")


def test_a_complete_file_of_zero_records_is_called_unread(
    tmp_path: Path, fake: FakeImpact, api: ImpactClient
) -> None:
    sent_repo(tmp_path, CSV)
    fake.add(FakeFile("F-empty", f"{SUB}.csv", "2026-11-27T05:03:00Z", total_records=0))
    result = reconcile_repository(tmp_path, SETTINGS, api, SENT + dt.timedelta(hours=1))
    assert report.lines(result)[0] == (
        f"{SUB}: {SUB}.csv: F-empty Complete, 0 errors "
        "(0 records: impact.com did not read the file as CSV)"
    )


def test_errors_of_split_parts_map_to_the_original_lines(tmp_path: Path) -> None:
    lines = item_rows("A-1", "A-2", "A-3").encode().splitlines(keepends=True)
    committed = b"".join(lines[:5]) + b"\r\n" + b"".join(lines[5:])  # a blank line at 6
    factory = RepoFactory(tmp_path)
    folder = factory.submission(SUB, committed)
    one = lines[0] + b"".join(lines[1:5])
    two = lines[0] + b"".join(lines[5:])
    receipt = Receipt(
        SUB,
        "processed",
        emails=[part(f"{SUB}.part-1-of-2.csv", one, 4), part(f"{SUB}.part-2-of-2.csv", two, 2)],
        processing=[
            _complete(
                f"{SUB}.part-2-of-2.csv",
                [
                    {
                        "line": 3,
                        "order_id": "A-3",
                        "sku": "SKU-2",
                        "status": "Validation",
                        "reason": "MALFORMED",
                    }
                ],
            ),
        ],
    )
    (mapped,) = explain_errors(tmp_path, receipt, folder)
    assert (mapped.attachment, mapped.line, mapped.csv_line, mapped.order_id, mapped.note) == (
        f"{SUB}.part-2-of-2.csv",
        3,
        8,
        "A-3",
        None,
    )
    receipt.emails[1].sha256 = "0" * 64  # not the bytes the runner would have built
    (fallback,) = explain_errors(tmp_path, receipt, folder)
    assert (fallback.csv_line, fallback.order_id, fallback.placed_by) == (8, "A-3", "order_id")
    assert fallback.note is not None and "sha256" in fallback.note and "OrderId" in fallback.note


def test_parts_as_the_runner_splits_them_map_back_line_for_line(tmp_path: Path) -> None:
    header, *rows = item_rows(*(f"A-{n}" for n in range(1, 9))).splitlines(keepends=True)
    committed = "".join([header, *rows[:5], "\n", *rows[5:]]).encode()
    factory = RepoFactory(tmp_path)
    folder = factory.submission(SUB, committed)
    csv_path = folder / "conversions.csv"
    split = split_batch(csv_path, "c.csv", SUB, "item-level", 700, lambda name, n: n + len(name))
    assert len(split.parts) > 2 and not split.findings
    emails = [replace(part(p.attachment, b"", p.rows), sha256=p.sha256) for p in split.parts]
    processing = []
    for p in split.parts:
        errors = [
            {"line": n, "order_id": "", "sku": "", "status": "Validation", "reason": "MALFORMED"}
            for n in range(2, p.rows + 2)
        ]
        processing.append(_complete(p.attachment, errors))
    receipt = Receipt(SUB, "processed", emails=emails, processing=processing)
    mapped = explain_errors(tmp_path, receipt, folder)
    original = committed.split(b"\n")
    sent = {p.attachment: p.read(csv_path).split(b"\n") for p in split.parts}
    assert len(mapped) == len(rows)
    for m in mapped:
        assert m.placed_by == "line" and m.csv_line is not None and m.line is not None
        assert original[m.csv_line - 1] == sent[m.attachment][m.line - 1]
        assert m.order_id == original[m.csv_line - 1].split(b",")[3].decode()


def test_an_order_the_csv_does_not_hold_is_not_placed(tmp_path: Path) -> None:
    _, folder = sent_repo(tmp_path, CSV)
    receipt = receipt_of(folder, tmp_path)
    receipt.emails[0].sha256 = "1" * 64
    error = {"line": 2, "order_id": "NOPE", "sku": "", "status": "Validation", "reason": "X"}
    receipt.processing.append(_complete(f"{SUB}.csv", [error]))
    (mapped,) = explain_errors(tmp_path, receipt)
    assert (mapped.csv_line, mapped.placed_by, mapped.order_id) == (None, None, "NOPE")
    assert mapped.note is not None and "not placed" in mapped.note


def test_without_its_csv_an_error_keeps_what_impact_com_said(tmp_path: Path) -> None:
    _, folder = sent_repo(tmp_path, CSV)
    receipt = receipt_of(folder, tmp_path)
    (folder / "conversions.csv").unlink()
    error = {"line": 4, "order_id": "A-2", "sku": "", "status": "Validation", "reason": "MALFORMED"}
    receipt.processing.append(_complete(f"{SUB}.csv", [error]))
    (mapped,) = explain_errors(tmp_path, receipt)
    assert (mapped.line, mapped.csv_line, mapped.order_id, mapped.reason) == (
        4,
        None,
        "A-2",
        "MALFORMED",
    )
    assert mapped.note == "the CSV named by the manifest cannot be read: not placed on a row"


def test_lines_count_physical_lines_of_quoted_multiline_fields(tmp_path: Path) -> None:
    header, *rows = item_rows("A-1", "A-2").splitlines()
    rows[0] = rows[0].replace("cust-A-1", '"two\nlines, quoted"')
    data = "\r\n".join([header, *rows]).encode() + b"\r\n"  # A-1 on 2-4, A-2 on 5-6
    _, folder = sent_repo(tmp_path, data)
    receipt = receipt_of(folder, tmp_path)
    receipt.emails[0].sha256 = sha(data)
    errors = [
        {"line": n, "order_id": "", "sku": "", "status": "Validation", "reason": "MALFORMED"}
        for n in (3, 5, 9)
    ]
    receipt.processing.append(_complete(f"{SUB}.csv", errors))
    placed = [(m.csv_line, m.order_id, m.placed_by) for m in explain_errors(tmp_path, receipt)]
    assert placed == [(2, "A-1", "line"), (5, "A-2", "line"), (None, "", None)]


def _complete(attachment: str, errors: list[dict[str, Any]]) -> Processing:
    return Processing(
        attachment,
        "Complete",
        "2026-11-27T05:00:00Z",  # SENT
        batch_id="F-1",
        total_errors=len(errors),
        errors=errors,
    )


# --- the command --------------------------------------------------------------------------------


def minutes_ago(minutes: int) -> str:
    return utc_text(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes))


@dataclass
class Workflow:
    """A clone of a repository whose submissions were sent an hour ago, as the hourly job has
    it: a bare origin, the variables it sets, and the stand-in API."""

    factory: RepoFactory
    origin: git.Repo
    fake: FakeImpact
    env: pytest.MonkeyPatch

    @property
    def folder(self) -> Path:
        return self.factory.root / "submissions" / SUB

    def reconcile(self, *options: str) -> int:
        return main(["reconcile", *options, "--repo", str(self.factory.root)])

    def listed(self, sub_id: str = SUB, *statuses: str, **more: Any) -> None:
        """impact.com lists the attachment, submitted five minutes ago."""
        self.fake.add(
            FakeFile(
                f"F-{sub_id}",
                f"{sub_id}.csv",
                minutes_ago(5),
                [*statuses] or ["Complete"],
                6,
                **more,
            )
        )

    def another_run(self, rel: str, text: str) -> None:
        """A commit pushed by someone else between our clone and our push."""
        where = self.factory.root.parent / "other"
        other = git.Repo.clone_from(self.origin.git_dir, where)
        (where / rel).write_text(text, encoding="utf-8")
        other.git.add(rel)
        who = {"GIT_AUTHOR_NAME": "o", "GIT_AUTHOR_EMAIL": "o@x"}
        other.git.commit(
            "-m",
            "another run",
            env={**who, "GIT_COMMITTER_NAME": "o", "GIT_COMMITTER_EMAIL": "o@x"},
        )
        other.git.push("origin", "main")


def workflow(tmp_path: Path, fake: FakeImpact, env: pytest.MonkeyPatch, *ids: str) -> Workflow:
    origin = git.Repo.init(tmp_path / "origin.git", bare=True, initial_branch="main")
    sent = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    factory, _ = sent_repo(tmp_path / "work", CSV, sent, ids)
    factory.repo.create_remote("origin", str(origin.git_dir))
    factory.repo.git.push("origin", "main")
    env.setenv("IMPACT_ACCOUNT_SID", SID)
    env.setenv("IMPACT_AUTH_TOKEN", TOKEN)
    env.setenv("RETROBATCH_IMPACT_API", fake.base_url)
    return Workflow(factory, origin, fake, env)


@pytest.fixture
def job(tmp_path: Path, fake: FakeImpact, monkeypatch: pytest.MonkeyPatch) -> Workflow:
    return workflow(tmp_path, fake, monkeypatch, SUB)


def test_reconcile_commits_and_pushes_what_changed_and_nothing_otherwise(
    job: Workflow, capsys: pytest.CaptureFixture[str]
) -> None:
    job.listed(SUB, "Queued", "Queued", "Complete")
    start = job.origin.head.commit.hexsha
    heads = []
    for _ in range(3):
        assert job.reconcile() == 0
        heads.append(job.origin.head.commit)
    assert [h.hexsha == start for h in heads] == [False, False, False]
    assert heads[1].hexsha == heads[0].hexsha  # still Queued: no commit
    assert heads[2].parents[0].hexsha == heads[0].hexsha
    assert heads[0].parents[0].hexsha == start
    assert list(heads[2].stats.files) == [f"submissions/{SUB}/receipt.yaml"]
    assert heads[2].author.name == "retrobatch"  # the settings' committer
    repo = job.factory.repo
    assert repo.head.commit.hexsha == heads[2].hexsha and not repo.is_dirty()
    assert receipt_of(job.folder, job.factory.root).state == "processed"
    out = capsys.readouterr()
    assert f"F-{SUB} Queued, 0 errors" in out.out
    assert "nothing new from impact.com (1 part asked about)" in out.out
    assert f"F-{SUB} Complete, 0 errors" in out.out and "sent -> processed" in out.out
    assert TOKEN not in out.out + out.err
    job.env.delenv("IMPACT_AUTH_TOKEN")  # nothing left to ask: no credentials needed
    assert job.reconcile() == 0
    assert "nothing to reconcile" in capsys.readouterr().out
    assert job.origin.head.commit.hexsha == heads[2].hexsha


def test_a_push_raced_by_another_run_is_rebased_and_pushed(job: Workflow) -> None:
    job.another_run("notes.txt", "another run\n")
    job.listed()
    assert job.reconcile() == 0
    head = job.origin.head.commit
    assert str(head.message).startswith("reconcile:")
    assert head.parents[0].message == "another run\n"


def test_a_receipt_changed_by_another_run_keeps_both_changes(job: Workflow) -> None:
    rel = f"submissions/{SUB}/receipt.yaml"
    ours = (job.folder / "receipt.yaml").read_text(encoding="utf-8")
    job.another_run(rel, ours.replace("state: sent", "state: partial", 1))
    job.listed()
    assert job.reconcile() == 0  # the ledger applies our entries to their receipt
    receipt, _ = parse_receipt(job.origin.git.show(f"main:{rel}"), rel)
    assert receipt is not None
    assert receipt.state == "partial"  # theirs, kept
    assert [p.status for p in receipt.processing] == ["Complete"]  # ours, on top
    assert not job.factory.repo.is_dirty()


def test_no_push_commits_locally_only(job: Workflow) -> None:
    start = job.origin.head.commit.hexsha
    job.listed()
    assert job.reconcile("--no-push") == 0
    assert job.origin.head.commit.hexsha == start
    assert job.factory.repo.head.commit.parents[0].hexsha == start
    assert receipt_of(job.folder, job.factory.root).state == "processed"


def test_a_wrong_token_exits_1_naming_401_and_never_shows_the_token(
    job: Workflow, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "wrong-Token-also-secret"
    job.env.setenv("IMPACT_AUTH_TOKEN", wrong)
    before = job.origin.head.commit.hexsha
    assert job.reconcile() == 1
    out = capsys.readouterr()
    assert "401" in out.err and len(out.err.strip().splitlines()) == 1
    assert wrong not in out.out + out.err and SID not in out.out + out.err
    assert job.origin.head.commit.hexsha == before and not job.factory.repo.is_dirty()


@pytest.mark.parametrize(
    "missing",
    [("IMPACT_ACCOUNT_SID",), ("IMPACT_AUTH_TOKEN",), ("IMPACT_ACCOUNT_SID", "IMPACT_AUTH_TOKEN")],
)
def test_without_credentials_exit_2_saying_what_to_set(
    job: Workflow, capsys: pytest.CaptureFixture[str], missing: tuple[str, ...]
) -> None:
    before = job.origin.head.commit.hexsha
    for name in missing:
        job.env.delenv(name)
    assert job.reconcile() == 2
    err = capsys.readouterr().err
    assert err.startswith(f"retrobatch reconcile: no impact.com API credentials: set {missing[0]}")
    assert len(err.strip().splitlines()) == 1 and TOKEN not in err
    assert job.origin.head.commit.hexsha == before


def test_a_failed_fetch_commits_what_was_learned_and_exits_1(
    tmp_path: Path,
    fake: FakeImpact,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = "2026-11-20-first", "2026-11-21-second"
    job = workflow(tmp_path, fake, monkeypatch, first, second)
    error = {"Line": "2", "OrderId": "A-1", "Sku": "", "Status": "Validation", "Reason": "X"}
    job.listed(first)
    job.listed(second, errors=[error], errors_status=403)
    assert job.reconcile() == 1
    err = capsys.readouterr().err
    assert "HTTP 403" in err and second in err
    assert list(job.origin.head.commit.stats.files) == [f"submissions/{first}/receipt.yaml"]
    assert receipt_of(job.factory.root / "submissions" / second, job.factory.root).processing == []


def test_status_id_shows_impact_errors_on_their_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, receipt = _sent_with_oid_duplicate(tmp_path)
    write_receipt(folder, receipt)
    assert main(["status", SUB, "--repo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "impact.com reported 1 error:" in out
    assert "OID_DUPLICATE (1 row): keep each order's lines together" in out
    assert f"submissions/{SUB}/conversions.csv:4: OrderId A-2: Sku SKU-1: OID_DUPLICATE" in out
    assert main(["status", SUB, "--repo", str(tmp_path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["impact_status"] == "Complete"
    [mapped] = doc["impact_errors"]
    assert (mapped["csv_line"], mapped["order_id"], mapped["reason"]) == (4, "A-2", "OID_DUPLICATE")
    assert "keep each order's lines together" in mapped["fix"]
    assert "csv.order-not-contiguous" in mapped["caught_by"]


def test_a_part_keeps_its_first_errors_and_counts_them_all_by_reason(
    tmp_path: Path, fake: FakeImpact, api: ImpactClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch refused whole has an error per row: the receipt stays small."""
    _, folder = sent_repo(tmp_path, CSV)
    wrong = [
        {"Line": str(n + 2), "OrderId": f"A-{n}", "Status": "Validation", "Reason": reason}
        for n, reason in enumerate(["INVALID_DATE"] * 1200 + ["OID_DUPLICATE"] * 300)
    ]
    fake.add(FakeFile("F-all", f"{SUB}.csv", "2026-11-27T05:03:00Z", errors=wrong))
    reconcile_repository(tmp_path, SETTINGS, api, SENT + dt.timedelta(hours=1))
    [entry] = receipt_of(folder, tmp_path).processing
    assert entry.total_errors == 1500
    assert [e["order_id"] for e in entry.errors] == [f"A-{n}" for n in range(KEPT_ERRORS)]
    assert entry.errors_by_reason == {"INVALID_DATE": 1200, "OID_DUPLICATE": 300}
    assert main(["status", SUB, "--repo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "the receipt keeps the first 1,000 errors" in out
    assert "by reason: INVALID_DATE 1,200, OID_DUPLICATE 300" in out
