"""`retrobatch diff`: changes by order between two commits, read from git blobs."""

import json
from pathlib import Path

import pytest

from retrobatch.cli import main
from retrobatch.diffs import describe, destination_changes, diff, diff_csv
from support.repo_factory import SETTINGS, RepoFactory, manifest_text

HEADER = "OrderId,Sku,Quantity,ItemPrice,CurrencyCode"
OLD = f"{HEADER}\nA-1,S1,1,10.00,USD\nA-1,S2,1,5.00,USD\nA-2,S1,1,3.00,USD\nA-3,S9,2,1.00,USD\n"
NEW = (
    "oid,SKU,Quantity,ItemPrice,Currency\n"  # aliases and case: the same columns
    "A-1,S1,2,10.00,USD\nA-1,S3,1,5.00,USD\nA-3,S9,2,1.00,USD\n\nA-4,S1,1,4.00,USD\n"
)


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    return RepoFactory(tmp_path / "repo")


def test_csv_orders_added_removed_and_changed_with_fields() -> None:
    result = diff_csv(OLD.encode(), NEW.encode())
    assert [(o.order, o.line) for o in result.added] == [("A-4", 6)]
    assert [(o.order, o.line) for o in result.removed] == [("A-2", 4)]
    [changed] = result.changed
    assert changed.order == "A-1"
    assert [(f.column, f.old, f.new, f.item) for f in changed.fields] == [
        ("Quantity", "1", "2", "S1")
    ]
    assert changed.items_added == ("S3",)
    assert changed.items_removed == ("S2",)
    assert describe(changed) == "Quantity (S1): 1 -> 2; line added: S3; line removed: S2"


def test_order_level_changes_name_no_item() -> None:
    old = b"OrderId,Amount,CustomerStatus\nB-1,10.00,New\n"
    new = b"OrderId,Amount,CustomerStatus\nB-1,12.50,\n"
    [changed] = diff_csv(old, new).changed
    assert [(f.column, f.old, f.new, f.item) for f in changed.fields] == [
        ("Amount", "10.00", "12.50", None),
        ("CustomerStatus", "New", "", None),
    ]
    assert describe(changed) == "Amount: 10.00 -> 12.50; CustomerStatus: New -> (empty)"


def test_reordered_columns_and_lines_are_no_change() -> None:
    old = b"OrderId,Amount\nB-1,1\nB-2,2\n"
    new = b"Amount,OrderId\r\n2,B-2\r\n1,B-1\r\n"
    assert diff_csv(old, new).empty


def test_modifications_are_keyed_by_action_id() -> None:
    old = b"ActionId,Amount,Reason\n111,0,ITEM_RETURNED\n"
    new = b"ActionId,Amount,Reason\n111,5.00,ORDER_UPDATE\n222,0,CONS_FRAUD\n"
    result = diff_csv(old, new)
    assert [o.order for o in result.added] == ["222"]
    assert [f.column for f in result.changed[0].fields] == ["Amount", "Reason"]


def test_quoted_newline_keeps_line_numbers() -> None:
    new = b'OrderId,Note\nC-1,"two\nlines"\nC-2,x\n'
    assert [(o.order, o.line) for o in diff_csv(None, new).added] == [("C-1", 2), ("C-2", 4)]


def test_unreadable_csv_reads_as_no_orders() -> None:
    assert diff_csv(b"", None).empty
    assert diff_csv(b"\xff\xfe", b"\xff\xfe").empty


def test_diff_between_commits_reads_blobs_and_the_working_tree(factory: RepoFactory) -> None:
    factory.submission("2026-11-20-outage", OLD)
    base = factory.commit("add")
    factory.repo.git.checkout("-b", "fix")
    (factory.root / "submissions/2026-11-20-outage/conversions.csv").write_text(NEW)
    head = factory.commit("edit")
    (factory.root / "submissions/2026-11-20-outage/conversions.csv").write_text(OLD)

    committed = diff(factory.root, "main", head)
    assert committed.base == base and committed.head == head
    [sub] = committed.submissions
    assert sub.status == "modified"
    assert sub.csv_path == "submissions/2026-11-20-outage/conversions.csv"
    assert [o.order for o in sub.orders.added] == ["A-4"]

    working = diff(factory.root, "main")  # HEAD: the working tree, which is back to OLD
    assert working.head is None
    assert working.submissions == []


def test_default_base_is_main_and_new_submissions_are_added(factory: RepoFactory) -> None:
    factory.commit("settings")
    factory.repo.git.checkout("-b", "topic")
    factory.submission("2026-11-21-new", OLD)
    [sub] = diff(factory.root).submissions
    assert sub.status == "added"
    assert [o.order for o in sub.orders.added] == ["A-1", "A-2", "A-3"]


def test_manifest_fields_and_receipts_are_reported(factory: RepoFactory) -> None:
    factory.submission("2026-11-20-outage", OLD)
    factory.commit("add")
    factory.submission(
        "2026-11-20-outage", manifest=manifest_text("2026-11-20-outage", event_type=67890)
    )
    factory.receipt("2026-11-20-outage")
    [sub] = diff(factory.root, "main").submissions
    assert [(f.column, f.old, f.new) for f in sub.manifest] == [("event_type", "12345", "67890")]
    assert sub.receipt_changed
    assert sub.orders.empty


def test_destination_changes() -> None:
    new = SETTINGS.replace("a1b2c3@inbound", "evil@elsewhere").replace(
        "  67890: {name: App Install, address: d4e5f6@inbound.example, app: true}\n", ""
    )
    changes = destination_changes(SETTINGS.encode(), new.encode())
    assert [(c.event_type, c.kind) for c in changes] == [("12345", "changed"), ("67890", "removed")]
    assert changes[0].new is not None and changes[0].new.address == "evil@elsewhere.example"
    unreadable = destination_changes(SETTINGS.encode(), b"not: [valid")
    assert unreadable == destination_changes(SETTINGS.encode(), None)


def test_cli_text_and_json(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    factory.submission("2026-11-20-outage", OLD)
    factory.commit("add")
    (factory.root / "submissions/2026-11-20-outage/conversions.csv").write_text(NEW)
    assert main(["diff", "main", "--repo", str(factory.root)]) == 0
    out = capsys.readouterr().out
    assert "2026-11-20-outage" in out
    assert "+ A-4" in out and "- A-2" in out
    assert "~ A-1 (line 2): Quantity (S1): 1 -> 2" in out
    assert main(["diff", "main", "--repo", str(factory.root), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["submissions"][0]["orders"]["removed"][0]["order"] == "A-2"


def test_cli_bad_base_exits_2(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    factory.commit("settings")
    assert main(["diff", "no-such-ref", "--repo", str(factory.root)]) == 2
    assert "no-such-ref" in capsys.readouterr().err


def test_links_in_the_working_tree_are_not_followed(factory: RepoFactory, tmp_path: Path) -> None:
    factory.commit("settings")
    outside = tmp_path / "secret.csv"
    outside.write_text("OrderId\nSECRET\n")
    folder = factory.submission("2026-11-21-link")
    (folder / "data").symlink_to(tmp_path)
    (folder / "manifest.yaml").write_text(
        (folder / "manifest.yaml").read_text().replace("conversions.csv", "data/secret.csv")
    )
    [sub] = diff(factory.root, "main").submissions
    assert sub.orders.empty


def test_folders_without_a_manifest_are_no_submission(factory: RepoFactory) -> None:
    factory.commit("settings")
    (factory.root / "submissions/notes").mkdir()
    (factory.root / "submissions/notes/todo.txt").write_text("later")
    assert diff(factory.root, "main").submissions == []
