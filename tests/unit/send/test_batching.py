import hashlib
import tempfile
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrobatch.send import message
from retrobatch.send.batching import split_batch
from support.runner_env import HEADER, SENDER, item_csv

ENVELOPE = message.Envelope(SENDER, "a1b2c3@inbound.example", ("finance@brand.example",))
SIZER = partial(message.encoded_size, ENVELOPE)
SUB = "2026-11-20-outage"


def _split(path: Path, max_bytes: int):  # type: ignore[no-untyped-def]
    return split_batch(path, "x/conversions.csv", SUB, "item-level", max_bytes, SIZER)


def _data_lines(data: bytes) -> list[bytes]:
    return [line for line in data.splitlines(keepends=True)[1:] if line.strip()]


def test_a_batch_that_fits_goes_whole_byte_for_byte(tmp_path: Path) -> None:
    data = item_csv([("A-1", 2), ("A-2", 1)], newline="\r\n") + b"\r\n"  # a blank line too
    path = tmp_path / "c.csv"
    path.write_bytes(data)
    (part,) = _split(path, 10 * 1024 * 1024).parts
    assert part.attachment == f"{SUB}.csv"
    assert part.read(path) == data
    assert part.sha256 == hashlib.sha256(data).hexdigest()
    assert part.rows == 3


def test_a_large_batch_splits_at_order_boundaries_and_every_message_fits(tmp_path: Path) -> None:
    orders = [(f"A-{n}", 1 + n % 4) for n in range(60)]
    data = item_csv(orders, newline="\r\n")
    lines = data.splitlines(keepends=True)
    data = b"".join([*lines[:10], b"\r\n", *lines[10:]])  # a blank line, dropped when split
    path = tmp_path / "c.csv"
    path.write_bytes(data)
    max_bytes = SIZER(f"{SUB}.part-9-of-9.csv", 3000)
    split = _split(path, max_bytes)
    parts = split.parts
    assert not split.findings
    assert len(parts) > 2
    assert [p.attachment for p in parts] == [
        f"{SUB}.part-{i}-of-{len(parts)}.csv" for i in range(1, len(parts) + 1)
    ]
    joined: list[bytes] = []
    for part in parts:
        body = part.read(path)
        assert body.startswith(HEADER.encode() + b"\r\n")
        assert part.sha256 == hashlib.sha256(body).hexdigest()
        assert part.rows == len(body.splitlines()) - 1
        built = message.build_message(
            ENVELOPE, part.attachment, body, message.new_message_id(SENDER)
        )
        assert len(message.message_bytes(built)) <= max_bytes
        joined += body.splitlines(keepends=True)[1:]
    assert joined == _data_lines(data)  # the original rows, in order, byte for byte
    order_of = [line.split(b",")[3] for line in joined]
    for part in parts[1:]:  # no order continues from one part into the next
        first = part.read(path).splitlines()[1].split(b",")[3]
        assert order_of.index(first) == 0 or order_of[order_of.index(first) - 1] != first


@pytest.mark.parametrize(
    "first",
    [
        # a quoted line break stays in its record
        b'1,12345,2026-11-25T10:00:00Z,A-1,c,u,USD,1.00,"Shoes\nand socks",S1,1\n',
        # records without quotes are split on commas, those with quotes read as CSV: both must
        # give the same OrderId, or an order would be cut between two parts
        b'1,12345,"2026-11-25T10:00:00Z","A-1",c,u,USD,1.00,"Shoes, red",S1,1\n',
    ],
    ids=["quoted line break", "quoted OrderId"],
)
def test_a_quoted_record_stays_with_its_order(tmp_path: Path, first: bytes) -> None:
    rows = [
        first,
        b"1,12345,2026-11-25T10:00:00Z,A-1,c,u,USD,1.00,Shoes,S2,1\n",
        b"1,12345,2026-11-25T10:00:00Z,A-2,c,u,USD,1.00,Shoes,S1,1\n",
    ]
    path = tmp_path / "c.csv"
    path.write_bytes(HEADER.encode() + b"\n" + b"".join(rows))
    max_bytes = SIZER(f"{SUB}.part-9-of-9.csv", len(HEADER) + 1 + len(rows[0]) + len(rows[1]))
    parts = _split(path, max_bytes).parts
    assert [p.rows for p in parts] == [2, 1]
    assert parts[0].read(path).endswith(rows[0] + rows[1])


def test_an_order_too_large_for_one_message_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(item_csv([("A-1", 1), ("BIG", 40)]))
    split = _split(path, SIZER(f"{SUB}.part-9-of-9.csv", 600))
    assert not split.parts
    (problem,) = split.findings
    assert problem.code == "csv.order-too-large"
    assert problem.line == 3
    assert "'BIG'" in problem.message


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=30),
    budget=st.integers(min_value=400, max_value=4000),
)
def test_parts_put_together_give_back_the_rows(sizes: list[int], budget: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.csv"
        data = item_csv([(f"O-{i}", n) for i, n in enumerate(sizes)])
        path.write_bytes(data)
        max_bytes = SIZER(f"{SUB}.csv", 0) + budget
        split = _split(path, max_bytes)
        if split.findings:
            assert split.findings[0].code == "csv.order-too-large"
            return
        joined = b"".join(b"".join(p.read(path).splitlines(keepends=True)[1:]) for p in split.parts)
        if len(split.parts) == 1:
            assert split.parts[0].read(path) == data
        else:
            assert joined == b"".join(_data_lines(data))
        assert sum(p.rows for p in split.parts) == sum(sizes)


def test_every_part_keeps_the_header_line_as_written(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + item_csv([(f"A-{n}", 2) for n in range(30)], newline="\r\n")
    path = tmp_path / "c.csv"
    path.write_bytes(data)
    parts = _split(path, SIZER(f"{SUB}.part-9-of-9.csv", 1500)).parts
    assert len(parts) > 1
    header = data.splitlines(keepends=True)[0]
    assert all(p.read(path).startswith(header) for p in parts)  # BOM and CRLF included
    assert all(p.rows % 2 == 0 for p in parts)  # both lines of every order together


def test_a_row_of_empty_cells_is_left_out_of_split_parts_like_a_blank_line(
    tmp_path: Path,
) -> None:
    """`check` tells a spreadsheet's `,,,,` row as a blank line; the parts agree."""
    orders = [(f"A-{n}", 1 + n % 4) for n in range(60)]
    lines = item_csv(orders, newline="\r\n").splitlines(keepends=True)
    path = tmp_path / "c.csv"
    path.write_bytes(b"".join([*lines[:10], b",,,,,,,,,,\r\n", *lines[10:]]))
    split = _split(path, SIZER(f"{SUB}.part-9-of-9.csv", 3000))
    assert len(split.parts) > 2 and not split.findings
    bodies = [part.read(path) for part in split.parts]
    assert not any(b",,,,,,,,,," in body for body in bodies)
    assert sum(part.rows for part in split.parts) == len(lines) - 1
