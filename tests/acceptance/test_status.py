import json
import os
from pathlib import Path

import pytest

from retrobatch import status as status_module
from retrobatch.cli import main
from support.repo_factory import RepoFactory, item_rows


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    f = RepoFactory(tmp_path / "repo")
    f.submission("2026-11-20-pending", item_rows("A-1", "A-2"))
    f.submission("2026-11-21-sent", item_rows("B-1"))
    f.receipt("2026-11-21-sent", "sent")
    f.submission("2026-11-22-broken", item_rows("C-1"))
    (f.root / "submissions" / "2026-11-22-broken" / "receipt.yaml").write_text("state: [\n")
    return f


def status(factory: RepoFactory, *args: str) -> int:
    return main(["status", "--repo", str(factory.root), *args])


def test_one_line_per_submission_with_its_state(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status(factory) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATE", "ROWS"]
    states = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert states == {
        "2026-11-20-pending": "pending",
        "2026-11-21-sent": "sent",
        "2026-11-22-broken": "invalid",
    }


def test_json_and_details(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    assert status(factory, "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["state"] for d in doc] == ["pending", "sent", "invalid"]
    assert doc[0]["template"] == "item-level" and doc[0]["event_type"] == 12345
    assert status(factory, "2026-11-22-broken") == 0
    out = capsys.readouterr().out
    assert "PROBLEM" in out and "invalid" in out


def test_a_folder_with_a_link_or_fifo_is_listed_as_refused_and_nothing_in_it_is_read(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    subs = factory.root / "submissions"
    os.mkfifo(subs / "2026-11-21-sent" / "pipe")  # reading it would block status forever
    (tmp_path / "elsewhere").mkdir()
    (subs / "2026-11-23-linked").symlink_to(tmp_path / "elsewhere")
    assert status(factory) == 0
    lines = capsys.readouterr().out.splitlines()
    states = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert states == {
        "2026-11-20-pending": "pending",
        "2026-11-21-sent": "refused",
        "2026-11-22-broken": "invalid",
        "2026-11-23-linked": "refused",
    }
    assert status(factory, "2026-11-21-sent") == 0
    problem = [line for line in capsys.readouterr().out.splitlines() if "PROBLEM" in line]
    assert problem == [
        "PROBLEM      submissions/2026-11-21-sent/pipe: a FIFO (named pipe): a submission holds "
        "regular files only (the manifest, its CSV, the receipt, a README); nothing in this "
        "folder is read or sent until it is removed"
    ]
    assert status(factory, "--format", "json") == 0
    linked = json.loads(capsys.readouterr().out)[3]
    assert (linked["id"], linked["state"]) == ("2026-11-23-linked", "refused")
    assert linked["problems"] == [
        "submissions/2026-11-23-linked: a symbolic link: a submission holds regular files only "
        "(the manifest, its CSV, the receipt, a README); nothing in this folder is read or sent "
        "until it is removed"
    ]


def test_unknown_id_exits_2(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    assert status(factory, "2026-01-01-nothing") == 2
    assert "no submission" in capsys.readouterr().err


def measured(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The CSVs status reads for their figures."""
    read: list[str] = []
    original = status_module.check_csv

    def counting(path: Path, rel: str, *args: object, **kwargs: object) -> object:
        read.append(rel.split("/")[1])
        return original(path, rel, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(status_module, "check_csv", counting)
    return read


def test_a_delivered_batch_shows_its_receipts_figures_without_reading_its_csv(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = factory.root / "submissions" / "2026-11-21-sent" / "receipt.yaml"
    receipt.write_text(
        receipt.read_text(encoding="utf-8")
        + "figures:\n  rows: 7\n  orders: 5\n  amounts: {USD: '12.30', EUR: '1.00'}\n"
        "  first_event: '2026-11-01T00:00:00Z'\n  last_event: '2026-11-02T00:00:00Z'\n",
        encoding="utf-8",
    )
    read = measured(monkeypatch)
    assert status(factory, "--format", "json") == 0
    sent = json.loads(capsys.readouterr().out)[1]
    amounts = {"USD": "12.30", "EUR": "1.00"}
    assert (sent["rows"], sent["orders"], sent["amounts"]) == (7, 5, amounts)
    assert (sent["first_event"], sent["last_event"]) == (
        "2026-11-01T00:00:00Z",
        "2026-11-02T00:00:00Z",
    )
    assert read == ["2026-11-20-pending", "2026-11-22-broken"]  # not yet delivered


def test_an_old_receipt_without_figures_has_its_csv_measured_once(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    read = measured(monkeypatch)
    assert status(factory, "--format", "json") == 0
    out = capsys.readouterr()
    first = json.loads(out.out)[1]
    assert (first["rows"], first["orders"], first["amounts"]) == (2, 1, {"USD": "39.98"})
    assert "2026-11-21-sent" in read
    assert "measuring the CSVs of receipts written before receipts held figures" in out.err
    read.clear()
    assert status(factory, "--format", "json") == 0
    again = capsys.readouterr()
    assert (json.loads(again.out)[1], again.err) == (first, "")
    assert "2026-11-21-sent" not in read  # kept in .git/retrobatch/figures


FAILED_RECEIPT = """\
submission: {id}
state: failed
sent_at: '2026-11-21T10:00:00Z'
emails:
- attachment: {id}.csv
  state: failed
  sha256: "{sha}"
  rows: 1
  message_id: <abc.123@brand.example>
  to: a1b2c3@inbound.example
  error: '550 5.7.1 rejected'
"""


def test_the_table_fits_100_columns_and_wide_shows_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = RepoFactory(tmp_path / "repo")
    long_id = "2026-11-20-" + "a-very-long-description-of-the-late-batch-x"
    rows = item_rows(*(f"A-{n}" for n in range(300))).replace(",19.99,", ",1999.99,")
    f.submission(long_id, rows)
    assert status(f) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 100
    assert "1,199,994.00 USD" in lines[1] and "…" in lines[1]
    assert status(f, "--wide") == 0
    wide = capsys.readouterr().out.splitlines()
    assert wide[0].split()[:3] == ["ID", "STATE", "TEMPLATE"] and long_id in wide[1]


def test_details_show_ticket_cc_message_ids_and_no_sent_at_when_never_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = RepoFactory(tmp_path / "repo")
    sub = "2026-11-21-refused"
    extra = "ticket: OPS-7\ncc: [finance@brand.example]\n"
    from support.repo_factory import manifest_text

    folder = f.submission(sub, item_rows("B-1"), manifest=manifest_text(sub, extra=extra))
    (folder / "receipt.yaml").write_text(FAILED_RECEIPT.format(id=sub, sha="0" * 64))
    assert status(f, sub) == 0
    out = capsys.readouterr().out
    assert "TICKET       OPS-7" in out and "CC           finance@brand.example" in out
    assert "Message-ID <abc.123@brand.example>" in out
    assert "SENT AT      -" in out
    assert "1 row to a1b2c3@inbound.example (550 5.7.1 rejected)" in out
