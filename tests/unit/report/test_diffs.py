"""`retrobatch diff`: changes by order between two commits, read from git blobs."""

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrobatch.cli import main
from retrobatch.diffs import describe, destination_changes, diff, diff_csv, not_text
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


@pytest.mark.parametrize(
    ("encode", "why"),
    [
        (lambda text: text.encode("utf-16"), "the new CSV is UTF-16"),
        (lambda text: text.encode() + b"\0\1\2", "the new CSV holds a NUL byte"),
        (
            lambda text: text.replace("A-4", "Caf\u00e9").encode("cp1252"),
            "the new CSV is not UTF-8",
        ),
    ],
    ids=["utf-16", "binary", "windows-1252"],
)
def test_a_csv_that_is_no_utf8_text_is_said_and_no_orders_are_made_up(
    factory: RepoFactory, encode: Callable[[str], bytes], why: str
) -> None:
    """Read as UTF-8, such a file's orders would be garbage ("4 added, 2 removed")."""
    csv = factory.root / "submissions/2026-11-20-outage/conversions.csv"
    factory.submission("2026-11-20-outage", OLD)
    factory.commit("add")
    csv.write_bytes(encode(NEW))
    [sub] = diff(factory.root, "main").submissions
    assert sub.orders.empty
    assert sub.note is not None and sub.note.startswith(why)
    factory.commit("broken")
    csv.write_text(NEW, encoding="utf-8")
    [sub] = diff(factory.root, "HEAD").submissions
    assert sub.orders.empty and sub.note is not None
    assert sub.note.startswith(why.replace("new", "old"))
    assert not_text(NEW.encode()) is None and not_text(None) is None


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


# -- the digest pass changes nothing: generated edits against a plain model -----------------------


def _model(data: bytes) -> tuple[dict[str, int], dict[str, list[tuple[str, dict[str, str]]]]]:
    """Orders as a reader of the CSV sees them: first line, and (Sku, values) per line."""
    rows = list(csv.reader(io.StringIO(data.decode())))
    names = [n.strip().lower() for n in rows[0]]
    names = ["orderid" if n == "oid" else n for n in names]
    first: dict[str, int] = {}
    lines: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for line, row in enumerate(rows[1:], start=2):  # no cell holds a line break here
        if not "".join(row).strip():
            continue
        values = {n: v.strip() for n, v in zip(names, row, strict=False)}
        order = values.get("orderid") or f"(no order id, line {line})"
        first.setdefault(order, line)
        lines.setdefault(order, []).append((values.get("sku", ""), values))
    return first, lines


EDITS = st.sampled_from(
    [
        "value",
        "add line",
        "drop line",
        "swap lines",
        "spaces",
        "quote",
        "quote id",
        "blank",
        "new order",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    orders=st.lists(st.integers(1, 4), min_size=1, max_size=12),
    edits=st.lists(st.tuples(EDITS, st.integers(0, 10**6)), max_size=6),
    renamed=st.booleans(),
)
def test_generated_edits_are_found_as_a_plain_reading_finds_them(
    orders: list[int], edits: list[tuple[str, int]], renamed: bool
) -> None:
    rows = [
        [f"A-{o}", f"S{i}", str(1 + i), f"{o}.{i}0"] for o, n in enumerate(orders) for i in range(n)
    ]
    old = "OrderId,Sku,Quantity,ItemPrice\n" + "".join(",".join(r) + "\n" for r in rows)
    new_rows = [list(r) for r in rows]
    for edit, pick in edits:
        k = pick % len(new_rows) if new_rows else 0
        if edit == "value" and new_rows:
            new_rows[k][2] = str(pick % 7)
        elif edit == "add line" and new_rows:
            new_rows.insert(k + 1, [new_rows[k][0], f"S{pick % 9 + 5}", "1", "1.00"])
        elif edit == "drop line" and len(new_rows) > 1:
            del new_rows[k]
        elif edit == "swap lines" and k + 1 < len(new_rows):
            new_rows[k], new_rows[k + 1] = new_rows[k + 1], new_rows[k]
        elif edit == "spaces" and new_rows:
            new_rows[k][3] = f" {new_rows[k][3]} "
        elif edit == "quote" and new_rows:
            new_rows[k][1] = f'"{new_rows[k][1]}"'
        elif edit == "quote id" and new_rows and new_rows[k][0]:
            new_rows[k][0] = f'"{new_rows[k][0]}"'
        elif edit == "blank":
            new_rows.insert(k, ["", "", "", ""])
        elif edit == "new order":
            new_rows.append([f"B-{pick % 5}", "S1", "1", "1.00"])
    header = "oid,SKU,Quantity,ItemPrice" if renamed else "OrderId,Sku,Quantity,ItemPrice"
    new = header + "\n" + "".join(",".join(r) + "\n" for r in new_rows)
    result = diff_csv(old.encode(), new.encode())

    (was_first, was), (now_first, now) = _model(old.encode()), _model(new.encode())
    assert [(o.order, o.line) for o in result.added] == [
        (k, now_first[k]) for k in now if k not in was
    ]
    assert [(o.order, o.line) for o in result.removed] == [
        (k, was_first[k]) for k in was if k not in now
    ]

    # an order is changed exactly when its lines, labelled by Sku (the second line with one
    # Sku being "#2"), hold other values
    def labelled(lines: list[tuple[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
        seen: dict[str, int] = {}
        out = {}
        for sku, values in lines:
            seen[sku] = seen.get(sku, 0) + 1
            out[f"{sku} #{seen[sku]}"] = values
        return out

    expected = [k for k in now if k in was and labelled(was[k]) != labelled(now[k])]
    assert [o.order for o in result.changed] == expected
