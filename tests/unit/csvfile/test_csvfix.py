"""`retrobatch fix` and `retrobatch import`: spreadsheet exports made with the bytes Excel and
Google Sheets write, repaired losslessly, and checked afterwards."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrobatch.cli import main
from retrobatch.csvfile.fix import Change, fix_bytes, fix_file
from retrobatch.csvfile.templates import load_template
from support.repo_factory import RepoFactory

NY = ZoneInfo("America/New_York")
ITEM = load_template("item-level")
ORDER = load_template("order-level")


def day(days_ago: int = 3) -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)


def excel_export(rows: list[str], sep: str = ";") -> bytes:
    """What Excel's "CSV UTF-8" writes: a BOM, CRLF, the locale's separator."""
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8")


# The item-level columns as the template names them, and as a spreadsheet spells them.
ITEM_COLUMNS = ["CampaignId", "ActionTrackerId", "EventDate", "OrderId", "ClickId", "CustomerId",
                "CurrencyCode", "ItemPrice", "Category", "Sku", "Quantity"]  # fmt: skip
HEADER = ";".join(
    ["Campaign Id", "ActionTrackerID", "Event Date", "Order Id", "ClickId", "CustomerId",
     "Currency", "ItemPrice", "Category", "SKU", "Quantity"]
)  # fmt: skip


def us(d: dt.date, time: str = "14:05") -> str:
    return f"{d.month}/{d.day}/{d.year} {time}"


def parsed(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_an_excel_export_becomes_impact_form_and_a_second_fix_changes_nothing() -> None:
    d = day()
    raw = excel_export([
        HEADER,
        f'1000;12345;{us(d)};A-1;click-1;c1;USD;"$1,234.50";Shoes;S1;1',
        f'1000;12345;{us(d, "2:05 PM")};A-2;click-2;c2;USD;"19,99";Shoes;S1;"1"',
        f"1000;12345;{d.isoformat()} 14:05:00;A-1;click-1;c1;USD;5;Shoes;S2;1",
        ";;;;;;;;;;",
    ])  # fmt: skip
    result = fix_bytes(raw, "x.csv", ITEM, NY)
    assert result.data is not None
    rows = parsed(result.data)
    assert rows[0] == ITEM_COLUMNS
    assert [r[3] for r in rows[1:]] == ["A-1", "A-1", "A-2"]  # regrouped, stable
    assert [r[9] for r in rows[1:]] == ["S1", "S2", "S1"]
    stamp = f"{d.isoformat()}T14:05:00{dt.datetime(d.year, d.month, d.day, 14, 5, tzinfo=NY):%z}"
    stamp = stamp[:-2] + ":" + stamp[-2:]
    assert {r[2] for r in rows[1:]} == {stamp}
    assert rows[1][7] == "1234.50"
    assert rows[3][7] == "19,99"  # a decimal comma in a column of decimal points: not guessed
    assert b"\r" not in result.data and not result.data.startswith(b"\xef\xbb\xbf")
    assert result.counts["blank-line"] == 1 and result.counts["delimiter"] == 1
    assert result.counts["date"] == 3 and result.counts["order-regrouped"] == 1
    assert result.examples["amount"][0].line == 2
    again = fix_bytes(result.data, "x.csv", ITEM, NY)
    assert again.data is None and again.counts == {}


def test_values_are_preserved_except_their_spelling() -> None:
    raw = b"OrderID,Event Date,CampaignId,ClickId,Amount,CurrencyCode,Note\n" + (
        b'A-1,2026-11-20T10:00:00Z,1000,"a,b",12.00,USD,"say ""hi"""\n'
    )
    result = fix_bytes(raw, "x.csv", ORDER, None)
    assert result.data is not None
    rows = parsed(result.data)
    assert rows[1] == ["A-1", "2026-11-20T10:00:00Z", "1000", "a,b", "12.00", "USD", 'say "hi"']
    assert rows[0][:2] == ["OrderId", "EventDate"]


def test_dates_without_a_zone_are_never_guessed() -> None:
    raw = b"OrderId,EventDate,CampaignId,ClickId\nA-1,11/20/2026 14:05,1,c\n"
    result = fix_bytes(raw, "x.csv", ORDER, None)
    assert result.data is None
    [problem] = result.unfixed
    assert problem.code == "csv.bad-date" and problem.line == 2
    assert "--timezone" in (problem.hint or "") and "2026-11-20T14:05:00" in (problem.hint or "")


def test_day_and_month_are_read_from_the_column_or_not_at_all() -> None:
    european = (
        b"OrderId,EventDate,CampaignId,ClickId\nA-1,20/11/2026 14:05,1,c\nA-2,3/4/2026 9:00,1,c\n"
    )
    rows = parsed(fix_bytes(european, "x.csv", ORDER, ZoneInfo("UTC")).data or b"")
    assert [r[1] for r in rows[1:]] == ["2026-11-20T14:05:00+00:00", "2026-04-03T09:00:00+00:00"]
    unclear = b"OrderId,EventDate,CampaignId,ClickId\nA-1,3/4/2026 9:00,1,c\n"
    result = fix_bytes(unclear, "x.csv", ORDER, ZoneInfo("UTC"))
    assert result.data is None and result.unfixed[0].code == "csv.bad-date"


def test_daylight_saving_comes_from_the_zone_database_and_the_repeated_hour_is_refused() -> None:
    raw = (
        b"OrderId,EventDate,CampaignId,ClickId\n"
        b"A-1,2026-07-01 12:00,1,c\nA-2,2026-12-01 12:00,1,c\nA-3,2026-11-01 01:30,1,c\n"
    )
    result = fix_bytes(raw, "x.csv", ORDER, NY)
    rows = parsed(result.data or b"")
    assert rows[1][1] == "2026-07-01T12:00:00-04:00" and rows[2][1] == "2026-12-01T12:00:00-05:00"
    assert rows[3][1] == "2026-11-01 01:30"  # 01:30 happens twice that night
    assert [f.line for f in result.unfixed] == [4]


def test_excel_serial_dates_in_a_date_column() -> None:
    raw = b"OrderId,EventDate,CampaignId,ClickId\nA-1,46346.5868055556,1,c\n"
    rows = parsed(fix_bytes(raw, "x.csv", ORDER, ZoneInfo("UTC")).data or b"")
    assert rows[1][1] == "2026-11-20T14:05:00+00:00"


def test_a_damaged_click_id_stays_a_finding_with_its_hint(tmp_path: Path) -> None:
    raw = b"OrderId,EventDate,CampaignId,ClickId\nA-1,2026-11-20T10:00:00Z,1,1.23457E+11\n"
    result = fix_bytes(raw, "x.csv", ORDER, None)
    [problem] = result.unfixed
    assert problem.code == "csv.excel-number"
    assert problem.hint == "Excel damaged this value; export ClickId as text"


def test_a_symbol_that_does_not_match_the_currency_is_left() -> None:
    header = "OrderId,EventDate,CampaignId,ClickId,Amount,CurrencyCode"
    raw = f"{header}\nA-1,2026-11-20T10:00Z,1,c,€12.00,USD\n".encode()
    result = fix_bytes(raw, "x.csv", ORDER, None)
    assert result.data is None
    assert result.unfixed[0].column == "Amount"


def test_utf16_and_cr_only_files_are_rewritten() -> None:
    text = "OrderId\tEventDate\tCampaignId\tClickId\rA-1\t2026-11-20T10:00:00Z\t1\tc\r"
    result = fix_bytes(text.encode("utf-16"), "x.csv", ORDER, None)
    assert result.data == b"OrderId,EventDate,CampaignId,ClickId\nA-1,2026-11-20T10:00:00Z,1,c\n"
    assert {"encoding", "line-ends", "delimiter"} <= result.counts.keys()


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    f = RepoFactory(tmp_path / "repo")
    f.commit("settings")
    return f


def cli(factory: RepoFactory, *args: str) -> int:
    return main([*args, "--repo", str(factory.root)])


def test_fix_dry_run_writes_nothing_and_fix_makes_check_pass(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    d = day()
    raw = excel_export([HEADER, f"1000;12345;{us(d)};A-1;click-1;c1;USD;19.99;Shoes;S1;1"])
    folder = factory.submission("2026-11-20-outage", raw)
    assert cli(factory, "check") == 1
    assert cli(factory, "fix", str(folder), "--timezone", "America/New_York", "--dry-run") == 0
    assert (folder / "conversions.csv").read_bytes() == raw
    out = capsys.readouterr().out
    assert "would change" in out and "dates made ISO 8601 with an offset: 1 (line 2:" in out
    assert cli(factory, "fix", str(folder), "--timezone", "America/New_York") == 0
    assert cli(factory, "check") == 0
    capsys.readouterr()
    assert cli(factory, "fix", str(folder), "--timezone", "America/New_York") == 0
    assert "nothing to change" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (b"OrderId,Amount\r\nA-1,1\r\nA\x00-2,2\r\n", 3),
        ("OrderId,Amount\nA-1,1\x00\n".encode("utf-16"), 2),  # found after re-encoding
    ],
    ids=["UTF-8", "UTF-16"],
)
def test_a_nul_byte_is_a_binary_file_and_nothing_is_written(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], raw: bytes, line: int
) -> None:
    folder = factory.submission("2026-11-20-outage", raw)
    assert cli(factory, "fix", str(folder)) == 1
    assert (folder / "conversions.csv").read_bytes() == raw
    out = capsys.readouterr().out
    assert f"conversions.csv:{line}: a NUL byte on line {line}: this is a binary file" in out
    assert ": changed:" not in out  # what it would have changed, it did not


def test_fix_names_a_bad_zone(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    folder = factory.submission("2026-11-20-outage", "OrderId\n")
    assert cli(factory, "fix", str(folder), "--timezone", "Mars/Olympus") == 2
    assert "--timezone 'Mars/Olympus': not a time zone" in capsys.readouterr().err


def test_import_an_xlsx_keeps_types_long_ids_and_dates(
    factory: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = day()
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(ITEM_COLUMNS)
    when = dt.datetime(d.year, d.month, d.day, 14, 5)
    sheet.append([1000, 12345, when, "A-1", 123456789012345, "c1", "USD", 1234.5, "Shoes", "S1", 1])
    sheet.append([1000, 12345, when, "A-1", 123456789012345, "c1", "USD", 0.1, "Shoes", "S2", 2])
    sheet["E2"].number_format = "0.00E+00"  # how Excel shows it; the value keeps every digit
    other = book.create_sheet("Notes")
    other.append(["ignored"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    sub_id = f"{d.isoformat()}-outage"
    status = cli(factory, "import", str(path), "--id", sub_id, "--template", "item-level",
                 "--event-type", "12345", "--timezone", "America/New_York",
                 "--description", "Orders lost: pixel down")  # fmt: skip
    assert status == 0, capsys.readouterr()
    folder = factory.root / "submissions" / sub_id
    rows = parsed((folder / "conversions.csv").read_bytes())
    assert rows[1][4] == "123456789012345" and rows[1][7] == "1234.5" and rows[2][7] == "0.1"
    assert rows[1][2].startswith(f"{d.isoformat()}T14:05:00-0")
    manifest = (folder / "manifest.yaml").read_text()
    assert "description: 'Orders lost: pixel down'" in manifest
    assert "requested_by: test@brand.example" in manifest
    assert cli(factory, "check") == 0


def test_import_names_a_missing_sheet(
    factory: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()
    path = tmp_path / "export.xlsx"
    book.save(path)
    status = cli(factory, "import", str(path), "--id", "2026-11-20-x", "--template", "item-level",
                 "--event-type", "12345", "--sheet", "Nope")  # fmt: skip
    assert status == 2
    assert "--sheet 'Nope': export.xlsx has no such sheet" in capsys.readouterr().err
    assert not (factory.root / "submissions" / "2026-11-20-x").exists()


def test_ten_thousand_rows_of_excel_export_pass_check_after_import_alone(
    factory: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's acceptance: every fixable problem at once, 10,000 rows, one command."""
    rows = [HEADER]
    for n in range(5000):
        d = day(1 + n % 20)
        price = f'"$1,{n % 1000:03d}.50"'
        rows.append(f"1000;12345;{us(d, '9:15 AM')};A-{n};clk-{n};c{n};USD;{price};Shoes;S1;1")
    for n in range(5000):  # each order's second line, far from its first
        d = day(1 + n % 20)
        rows.append(f"1000;12345;{d.isoformat()} 09:15:00;A-{n};clk-{n};c{n};USD;19.99;Shoes;S2;2")
    rows.insert(5000, ";;;;;;;;;;")
    path = tmp_path / "export.csv"
    path.write_bytes(excel_export(rows))
    sub_id = f"{day().isoformat()}-outage"
    args = ["import", str(path), "--id", sub_id, "--template", "item-level", "--event-type",
            "12345", "--timezone", "America/New_York"]  # fmt: skip
    assert cli(factory, *args) == 0
    folder = f"submissions/{sub_id}"
    capsys.readouterr()
    assert cli(factory, "check", str(factory.root / folder / "conversions.csv")) == 1
    out = capsys.readouterr().out
    assert "[manifest.placeholder]" in out and out.count("[csv.") == 0
    # ... and the whole submission once a description is given
    (factory.root / folder).joinpath("manifest.yaml").unlink()
    for child in (factory.root / folder).iterdir():
        child.unlink()
    (factory.root / folder).rmdir()
    assert cli(factory, *args, "--description", "Orders lost while the pixel was down") == 0
    assert cli(factory, "check") == 0
    data = (factory.root / folder / "conversions.csv").read_text()
    assert data.count("\n") == 10_001


_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), max_size=12
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(_TEXT, _TEXT, _TEXT), min_size=1, max_size=8),
       crlf=st.booleans(), semicolons=st.booleans())  # fmt: skip
def test_text_values_survive_fix_whatever_the_dialect(
    rows: list[tuple[str, str, str]], crlf: bool, semicolons: bool
) -> None:
    """Free-text columns keep every value exactly (only blank rows go), in any dialect."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if semicolons else ",",
                        lineterminator="\r\n" if crlf else "\n")  # fmt: skip
    header = ["ClickId", "CustomerId", "Note"]
    writer.writerow(header)
    writer.writerows(rows)
    result = fix_bytes(out.getvalue().encode(), "x.csv", ORDER, None)
    data = result.data if result.data is not None else out.getvalue().encode()
    kept = [list(r) for r in rows if any(v.strip() for v in r)]
    assert parsed(data) == [header, *kept]
    assert fix_bytes(data, "x.csv", ORDER, None).data is None  # idempotent


def test_a_modification_file_keeps_impact_coms_reset_spelling() -> None:
    mods = load_template("modifications")
    result = fix_bytes(b"oid,Action Tracker Id,reason\r\nA-1,12345,RESET\r\n", "x.csv", mods)
    assert result.data == b"Oid,ActionTrackerId,Reason\nA-1,12345,RESET\n"


# -- streaming: files of many blocks, read and written without holding them -------------------


def canonical_orders(orders: int) -> list[list[str]]:
    """Valid item-level rows, 1-3 lines per order; every 7th order's note holds a line break
    and a ';' (quoted), so that quoted records cross block boundaries too."""
    rows = []
    for n in range(orders):
        for k in range(1 + n % 3):
            note = f"line one;\nline two {n}" if n % 7 == 0 else f"plain {n}"
            rows.append(["1000", "12345", "2026-11-20T14:05:00-05:00", f"A-{n}", f"click-{n}",
                         f"c{n}", "USD", f"{1000 + n % 900}.50", note, f"S{k}", "1"])  # fmt: skip
    return rows


def messy_export(rows: list[list[str]], *, line_end: str = "\r\n") -> bytes:
    """The rows as Excel writes them with a ';' separator and a US locale: BOM, CRLF,
    `$1,234.50`, `11/20/2026 14:05`; the last line of every 10th order moved to the end."""
    header = ["Campaign Id", "ActionTrackerID", "Event Date", "Order Id", "ClickId",
              "CustomerId", "Currency", "ItemPrice", "Note", "SKU", "Quantity"]  # fmt: skip
    kept, moved = [], []
    for i, row in enumerate(rows):
        messy = list(row)
        messy[2] = "11/20/2026 14:05"
        whole, cents = row[7].split(".")
        messy[7] = f"${int(whole):,}.{cents}"
        n = int(row[3][2:])
        last = i + 1 == len(rows) or rows[i + 1][3] != row[3]
        scattered = n % 10 == 0 and last and (i > 0 and rows[i - 1][3] == row[3])
        (moved if scattered else kept).append(messy)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(kept + moved)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def expected_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["CampaignId", "ActionTrackerId", "EventDate", "OrderId", "ClickId",
                     "CustomerId", "CurrencyCode", "ItemPrice", "Note", "Sku",
                     "Quantity"])  # fmt: skip
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("line_end", ["\r\n", "\r"])
def test_a_file_of_many_blocks_is_repaired_as_a_whole(tmp_path: Path, line_end: str) -> None:
    """Over 1 MB (several 256 KiB blocks): every repair at once, scattered orders brought back
    from far away (by seeking to them), quoted line breaks across blocks, in place."""
    rows = canonical_orders(6000)
    raw = messy_export(rows, line_end=line_end)
    assert len(raw) > 3 * (1 << 18)
    path = tmp_path / "conversions.csv"
    path.write_bytes(raw)
    path.chmod(0o644)
    dry = fix_file(path, "conversions.csv", "item-level", NY, dry_run=True)
    assert path.read_bytes() == raw and dry.changed
    result = fix_file(path, "conversions.csv", "item-level", NY)
    assert path.read_bytes() == expected_csv(rows)
    assert (path.stat().st_mode & 0o777) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conversions.csv"]  # no leftovers
    assert result.counts == dry.counts and result.examples == dry.examples
    scattered = sum(1 for n in range(6000) if n % 10 == 0 and n % 3 != 0)
    assert result.counts["order-regrouped"] == scattered
    assert result.counts["date"] == len(rows) and result.counts["amount"] == len(rows)
    first = result.examples["order-regrouped"][0]
    assert first.before == "A-10" and first.after.startswith("lines ")
    assert result.examples["date"][0].line == 2 and not result.unfixed
    # the same bytes through fix_bytes; a second run changes nothing and rewrites nothing
    assert fix_bytes(raw, "x.csv", ITEM, NY).data == expected_csv(rows)
    before = path.stat()
    again = fix_file(path, "conversions.csv", "item-level", NY)
    assert not again.changed and again.counts == {}
    assert path.stat().st_ino == before.st_ino and path.stat().st_mtime_ns == before.st_mtime_ns


def test_a_clean_file_is_read_once_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "conversions.csv"
    path.write_bytes(expected_csv(canonical_orders(3000)))
    before = path.stat()
    result = fix_file(path, "conversions.csv", "item-level", None)
    assert not result.changed and result.counts == {} and not result.unfixed
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_utf16_with_scattered_orders_is_regrouped() -> None:
    text = "OrderId\tSku\tEventDate\tCampaignId\r\nA-1\tS1\t2026-11-20T10:00Z\t1\r\n"
    text += "A-2\tS1\t2026-11-20T10:00Z\t1\r\nA-1\tS2\t2026-11-20T10:00Z\t1\r\n"
    result = fix_bytes(text.encode("utf-16"), "x.csv", ITEM)
    assert parsed(result.data or b"") == [
        ["OrderId", "Sku", "EventDate", "CampaignId"],
        ["A-1", "S1", "2026-11-20T10:00Z", "1"],
        ["A-1", "S2", "2026-11-20T10:00Z", "1"],
        ["A-2", "S1", "2026-11-20T10:00Z", "1"],
    ]
    assert result.examples["order-regrouped"][0].after == "lines 2, 4 together"


def test_a_malformed_record_far_down_changes_nothing(tmp_path: Path) -> None:
    rows = canonical_orders(4000)
    raw = messy_export(rows) + b'1000;12345;x;"A-9"x;c;c;USD;1;n;S;1\r\n'
    path = tmp_path / "conversions.csv"
    path.write_bytes(raw)
    result = fix_file(path, "conversions.csv", "item-level", NY)
    assert path.read_bytes() == raw and not result.changed
    [problem] = result.unfixed
    assert problem.code == "csv.malformed" and problem.line == raw.count(b"\n")
    assert set(result.counts) == {"bom", "line-ends", "delimiter"}


def test_problems_past_a_thousand_are_counted_not_listed() -> None:
    rows = ["OrderId,EventDate,CampaignId,ClickId"]
    rows += [f"A-{n},11/20/2026 14:05,1,c{n}" for n in range(1500)]
    result = fix_bytes(("\n".join(rows) + "\n").encode(), "x.csv", ORDER, None)
    assert result.data is None
    listed = [f for f in result.unfixed if f.code == "csv.bad-date"]
    assert len(listed) == 1000 and [f.line for f in listed[:2]] == [2, 3]
    assert result.unfixed[-1].code == "csv.truncated"
    assert result.hidden == {("csv.bad-date", "EventDate", "error"): 500}
    from retrobatch.report.fix import lines

    report = "\n".join(lines(result, dry_run=True))
    assert "not fixed (1,500 problems)" in report and "1,500 rows" in report


def test_empty_trailing_columns_are_judged_on_the_whole_file() -> None:
    header = "OrderId,EventDate,CampaignId,ClickId,,"
    body = [f"A-{n},2026-11-20T10:00Z,1,c,," for n in range(3000)]
    filled = fix_bytes("\n".join([header, *body, "A-x,2026-11-20T10:00Z,1,c,,late"]).encode()
                       + b"\n", "x.csv", ORDER)  # fmt: skip
    assert filled.data is None  # the last row has a value there: the column stays
    empty = fix_bytes(("\n".join([header, *body]) + "\n").encode(), "x.csv", ORDER)
    assert parsed(empty.data or b"")[0] == ["OrderId", "EventDate", "CampaignId", "ClickId"]
    assert empty.counts["empty-columns"] == 3001


# -- encodings: stated, never guessed ---------------------------------------------------------

CP1252 = (
    "OrderId,EventDate,CampaignId,ClickId,CustomerId\nA-1,2026-11-20T10:00Z,1,c,Café “Ünïcode”\n"
)


def test_a_stated_windows_1252_file_becomes_utf8_and_a_second_run_changes_nothing() -> None:
    raw = CP1252.encode("cp1252")
    result = fix_bytes(raw, "x.csv", ORDER, encoding="cp1252")
    assert result.data == CP1252.encode("utf-8")
    assert result.examples["encoding"] == [Change(1, None, "cp1252", "UTF-8")]
    from retrobatch.report.fix import lines

    assert "re-encoded as UTF-8: 1 (line 1: 'cp1252' -> 'UTF-8')" in "\n".join(
        lines(result, dry_run=False)
    )
    again = fix_bytes(result.data, "x.csv", ORDER, encoding="cp1252")
    assert again.data is None and again.counts == {} and not again.unfixed
    assert "already UTF-8" in again.remarks[0]  # 'Café' is not read again as 'CafÃ©'
    ascii_only = fix_bytes(b"OrderId,ClickId\nA-1,c\n", "x.csv", ORDER, encoding="latin-1")
    assert ascii_only.data is None and ascii_only.counts == {} and not ascii_only.remarks


def test_a_byte_the_stated_encoding_does_not_define_is_a_finding_with_its_line() -> None:
    raw = b"OrderId,ClickId\nA-1,c\nA-2,\x81x\n"  # 0x81: undefined in Windows-1252
    result = fix_bytes(raw, "x.csv", ORDER, encoding="cp1252")
    [problem] = result.unfixed
    assert (problem.code, problem.line) == ("csv.encoding", 3)
    assert problem.message == "line 3 is not cp1252 (byte 0x81)" and result.data is None


def test_utf16_can_be_stated_too() -> None:
    result = fix_bytes(CP1252.encode("utf-16"), "x.csv", ORDER, encoding="utf-16")
    assert result.data == CP1252.encode("utf-8")


def test_without_encoding_the_hint_shows_the_line_as_windows_1252_reads_it() -> None:
    result = fix_bytes(CP1252.encode("cp1252"), "sub/conversions.csv", ORDER)
    [problem] = result.unfixed
    assert problem.message == "line 2 is not UTF-8 (byte 0xE9)" and result.data is None
    hint = problem.hint or ""
    assert "in Windows-1252 this line reads 'A-1,2026-11-20T10:00Z,1,c,Café “Ünïcode”'" in hint
    assert "`retrobatch fix --encoding cp1252 sub/conversions.csv`" in hint
    assert "never guesses" in hint


def test_a_line_windows_1252_cannot_read_gets_no_reading() -> None:
    result = fix_bytes(b"OrderId,ClickId\nA-1,\xe9\x81\n", "x.csv", ORDER)
    hint = result.unfixed[0].hint or ""
    assert "Windows-1252" not in hint and "--encoding NAME x.csv" in hint


_CELLS = st.sampled_from(["A-1", "A-2", "A-3", "", " x ", 'say "hi"', "two\nlines", "a;b", "a,b",
                          "11/20/2026 14:05", "$1,234.50", "19.99", "usd", "1.2E+11"])  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.lists(_CELLS, min_size=4, max_size=5), min_size=1, max_size=25),
       line_end=st.sampled_from(["\n", "\r\n", "\r"]), semicolons=st.booleans(),
       bom=st.booleans(), block=st.integers(8, 200))  # fmt: skip
def test_where_blocks_are_cut_changes_nothing(
    rows: list[list[str]], line_end: str, semicolons: bool, bom: bool, block: int
) -> None:
    """The same repair whether the file is read in one block or in blocks of a few bytes
    (quotes, line ends and scattered orders across their edges), and a second run is idle."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if semicolons else ",", lineterminator=line_end)
    writer.writerow(["OrderId", "EventDate", "ItemPrice", "CurrencyCode", "Sku"])
    writer.writerows(rows)
    raw = ("\ufeff" if bom else "").encode() + out.getvalue().encode()
    whole = fix_bytes(raw, "x.csv", ITEM, NY)
    cut = fix_bytes(raw, "x.csv", ITEM, NY, block_size=block)
    assert (cut.data, cut.counts, cut.examples) == (whole.data, whole.counts, whole.examples)
    assert cut.unfixed == whole.unfixed
    if whole.data is not None and not whole.unfixed:
        again = fix_bytes(whole.data, "x.csv", ITEM, NY, block_size=block)
        assert again.data is None and again.counts == {}


@pytest.mark.parametrize("block", [1, 3, 1 << 18])
def test_line_offsets_count_every_kind_of_line_end(block: int) -> None:
    """What fix seeks to: `\\n`, `\\r\\n` and a lone `\\r` each end a line, a last line
    without an end too, whatever the block size (a `\\r\\n` is never split)."""
    from retrobatch.csvfile.source import LineSource, line_offsets

    raw = b"ab\r\ncd\ref\n\ngh"
    offsets = line_offsets(io.BytesIO(raw), [1, 2, 3, 4, 5, 6])
    assert list(offsets) == [0, 4, 7, 10, 11, 13]
    source = LineSource(io.BytesIO(raw), "utf-8", block_size=block)
    assert [line for b in source.blocks() for line in b.lines] == ["ab", "cd", "ef", "", "gh"]
    assert (source.crlf, source.lone_cr, source.ends_with_newline) == (1, 1, False)


def test_a_long_cell_is_no_malformed_record() -> None:
    """A cell past csv's default limit (128 KiB) is read, as check reads it (and reports its
    length); only a line past the record limit (16 MiB) stops fix."""
    result = fix_bytes(b'OrderId,ClickId\nA-1,"' + b"x" * 200_000 + b'"\n', "x.csv", ORDER)
    assert not result.unfixed and result.counts == {"quoting": 1}
    endless = fix_bytes(b"OrderId,ClickId\nA-1," + b"x" * (17 << 20), "x.csv", ORDER)
    assert [(f.code, f.line) for f in endless.unfixed] == [("csv.record-too-long", 2)]
    assert endless.data is None


def test_a_semicolon_header_longer_than_csvs_field_limit_is_still_read() -> None:
    """Read with commas, a long `;` header is one field past csv's 128 KiB default limit."""
    names = ["OrderId", "EventDate", "Amount", *(f"Extra{n}" for n in range(20_000))]
    raw = (
        ";".join(names)
        + "\n"
        + ";".join(["A-1", "2026-11-20T10:00:00Z", "1.00"] + ["v"] * 20_000)
        + "\n"
    ).encode()
    assert len(raw) > 128 * 1024
    result = fix_bytes(raw, "x.csv", ORDER, None)
    assert result.data is not None
    assert parsed(result.data)[0][:3] == ["OrderId", "EventDate", "Amount"]
