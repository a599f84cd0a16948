"""Rules across the repository: orders sent twice, the modification limit."""

import json
from pathlib import Path

import pytest

from retrobatch.check import repository as repo_rules
from retrobatch.cli import main
from support.repo_factory import RepoFactory, item_rows


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    return RepoFactory(tmp_path / "repo")


def findings(factory: RepoFactory, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    main(["check", "--repo", str(factory.root), "--format", "json", *args])
    return json.loads(capsys.readouterr().out)["findings"]


def test_an_order_already_delivered_is_refused(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-first", item_rows("A-1", "A-2"))
    factory.receipt("2026-11-20-first", "sent")
    factory.submission("2026-11-22-again", item_rows("A-3", "A-2"))
    [f] = findings(factory, capsys)
    assert f["code"] == "repo.duplicate-order"
    assert f["path"] == "submissions/2026-11-22-again/conversions.csv"
    assert (f["line"], f["column"]) == (4, "OrderId")
    assert "2026-11-20-first" in f["message"] and "A-2" in f["message"]


def test_pending_duplicates_fail_only_the_later_submission(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-first", item_rows("A-1"))
    factory.submission("2026-11-22-second", item_rows("A-1"))
    found = findings(factory, capsys)
    assert [(f["code"], f["path"].split("/")[1]) for f in found] == [
        ("repo.duplicate-order", "2026-11-22-second")
    ]
    assert "pending" in found[0]["message"]


def test_other_event_types_and_failed_receipts_do_not_count(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-23-failed", item_rows("A-1"))
    factory.receipt("2026-11-23-failed", "failed")
    factory.submission("2026-11-20-app", item_rows("A-1", event_type=67890), event_type=67890)
    factory.receipt("2026-11-20-app", "sent")
    folder = factory.submission("2026-11-22-web", item_rows("A-1"))
    assert [f["code"] for f in findings(factory, capsys, str(folder))] == []


def modifications(*actions: str) -> str:
    return "ActionId,Amount,Reason\n" + "".join(f"{a},0,ITEM_RETURNED\n" for a in actions)


def test_modification_limit_counts_delivered_rows(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-20-bulk", modifications(*["111"] * 999), template="modifications")
    factory.receipt("2026-11-20-bulk", "sent")
    factory.submission(
        "2026-11-22-more", modifications("222", "111", "111"), template="modifications"
    )
    found = findings(factory, capsys)
    limit = [f for f in found if f["code"] == "repo.modification-limit"]
    assert len(limit) == 1
    assert limit[0]["line"] == 3
    assert "1,001" in limit[0]["message"]


def test_orders_of_submissions_checked_in_this_run_are_not_read_again(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory.submission("2026-11-20-first", item_rows("A-1"))
    factory.submission("2026-11-22-second", item_rows("A-1"))
    reads: list[Path] = []
    original = repo_rules.collect_keys

    def counting(path: Path, template: str):  # type: ignore[no-untyped-def]
        reads.append(path)
        return original(path, template)

    monkeypatch.setattr(repo_rules, "collect_keys", counting)
    assert [f["code"] for f in findings(factory, capsys)] == ["repo.duplicate-order"]
    assert reads == []
