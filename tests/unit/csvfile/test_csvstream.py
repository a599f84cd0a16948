"""The quote-free fast path and the csv.reader path read the same records on the same lines."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrobatch.csvfile.stream import CsvStream

Read = tuple[list[str] | None, list[tuple[int, tuple[str, ...]]], list[tuple[int, int]], list]


def sizes(path: Path, *, fast: bool, block_size: int = 1 << 16) -> list[int]:
    """Bytes of each record as the stream measures them, with the longest and the total it
    gives without listing them."""
    found: list[int] = []
    for batch in CsvStream(path, "x.csv", fast=fast, block_size=block_size):
        total, longest = batch.sizes.total, batch.sizes.longest
        assert len(batch.sizes) == len(batch.lines)
        assert (total, longest) == (sum(batch.sizes), max(batch.sizes, default=0))
        found += batch.sizes
    return found


def read(path: Path, *, fast: bool, block_size: int = 1 << 16) -> Read:
    stream = CsvStream(path, "x.csv", fast=fast, block_size=block_size)
    records: list[tuple[int, tuple[str, ...]]] = []
    odd: list[tuple[int, int]] = []
    for batch in stream:
        records += zip(batch.lines, zip(*batch.cols, strict=True), strict=True)
        odd += batch.odd
        # Rules skip looking for empty cells in a batch that says it has none.
        assert batch.maybe_empty or all(all(col) for col in batch.cols)
    problems = [(f.code, f.line) for f in stream.findings]
    return stream.header, records, odd, problems


def both_paths_agree(path: Path, block_size: int = 1 << 16) -> Read:
    fast = read(path, fast=True, block_size=block_size)
    assert read(path, fast=False, block_size=block_size) == fast
    assert sizes(path, fast=True, block_size=block_size) == sizes(
        path, fast=False, block_size=block_size
    )
    return fast


CASES = {
    "plain": "a,b\n1,2\n3,4\n",
    "no final newline": "a,b\n1,2\n3,4",
    "blank lines": "\na,b\n\n1,2\n\n\n3,4\n\n",
    "crlf": "a,b\r\n1,2\r\n3,4\r\n",
    "crlf, a lone CR ending the file": "a,b\r\n1,2\r\n3,4\r",
    "crlf and lf mixed": "a,b\r\n1,2\n3,4\r\n",
    "odd widths": "a,b\n1\n1,2,3\n4,5\n",
    # a line one field short and one a field long: as many commas as if all had the width
    "widths that make up": "a,b,c\n1,2\n3,4,5,6\n7,8,9\n",
    "non-ascii": "a,b\n\u00e9t\u00e9,2\n3,\u20ac\n",
    "empty cells": "a,b,c\n,,\n1,,\n",
    "bom": "\ufeffa,b\n1,2\n",
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("block_size", [3, 8, 1 << 16])
def test_paths_agree_on_quote_free_files(tmp_path: Path, name: str, block_size: int) -> None:
    path = tmp_path / "x.csv"
    path.write_text(CASES[name], encoding="utf-8")
    header, records, _, _ = both_paths_agree(path, block_size)
    # a row of empty cells (`,,`) is a blank line, like an empty one
    expected = [row for row in csv.reader(io.StringIO(CASES[name].lstrip("\ufeff"))) if any(row)]
    assert [list(r) for _, r in records] == [r for r in expected[1:] if len(r) == len(header or ())]


@pytest.mark.parametrize("line", ["", ",2,3", "1,,3", "1,2,", ",,3", "1,,", "1,2,\r"], ids=repr)
@pytest.mark.parametrize("where", ["first", "middle", "last", "last, no final newline"])
def test_a_batch_with_an_empty_cell_says_it_may_have_one(
    tmp_path: Path, line: str, where: str
) -> None:
    rows = ["7,8,9"] * 3
    if line:
        rows[{"first": 0, "middle": 1}.get(where, 2)] = line
    text = "a,b,c\n" + "\n".join(rows) + ("" if "no final" in where else "\n")
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    batches = list(CsvStream(path, "x.csv"))
    cells = [cell for batch in batches for col in batch.cols for cell in col]
    assert ("" in cells) == any(batch.maybe_empty for batch in batches) == bool(line)


def test_blank_lines_are_reported_and_numbered(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(CASES["blank lines"], encoding="utf-8")
    header, records, _, problems = both_paths_agree(path, 4)
    assert header == ["a", "b"]
    assert records == [(4, ("1", "2")), (7, ("3", "4"))]
    assert problems == [("csv.blank-line", n) for n in (1, 3, 5, 6, 8)]


def test_odd_widths_are_set_apart_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(CASES["odd widths"], encoding="utf-8")
    _, records, odd, _ = both_paths_agree(path)
    assert records == [(4, ("4", "5"))]
    assert odd == [(2, 1), (3, 3)]


def test_a_quoted_field_across_block_boundaries(tmp_path: Path) -> None:
    text = 'a,b\n1,"x\ny\nz"\n2,"q,r"\n3,4\n'
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    for block_size in (2, 5, 9, 1 << 16):
        _, records, _, _ = read(path, fast=True, block_size=block_size)
        assert records == [(2, ("1", "x\ny\nz")), (5, ("2", "q,r")), (6, ("3", "4"))]


fields = st.text(alphabet=st.sampled_from(list('ab1 =,"\n')), max_size=6)
rows = st.lists(st.lists(fields, min_size=1, max_size=4), min_size=1, max_size=12)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=rows, blanks=st.lists(st.integers(0, 12), max_size=3), block=st.sampled_from([4, 16, 64])
)
def test_both_paths_match_csv_reader_on_generated_files(
    tmp_path: Path, rows: list[list[str]], blanks: list[int], block: int
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    starts = []  # (line where each record starts, record)
    written_sizes: list[int] = []
    line = 1
    for i, row in enumerate(rows):
        for _ in range(blanks.count(i)):
            out.write("\n")
            line += 1
        before = out.tell()
        writer.writerow(row)
        written = out.getvalue()[before:]
        if any(row) or not starts:  # a row of empty cells after the header is a blank line
            starts.append((line, tuple(row)))
            written_sizes.append(len(written.encode()))
        line += written.count("\n")
    path = tmp_path / "gen.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    header, records, odd, _ = both_paths_agree(path, block)
    if not starts:
        assert header is None and not records
        return
    assert header == list(starts[0][1])
    width = len(starts[0][1])
    assert records == [(n, r) for n, r in starts[1:] if len(r) == width]
    assert odd == [(n, len(r)) for n, r in starts[1:] if len(r) != width]
    pairs = zip(starts[1:], written_sizes[1:], strict=True)
    kept = [size for (_, r), size in pairs if len(r) == width]
    assert sizes(path, fast=True, block_size=block) == kept


def test_empty_lines_and_rows_of_empty_cells_are_told_in_line_order(tmp_path: Path) -> None:
    """Found by the generated-files test: in one block, empty lines were told before a row of
    empty cells that came earlier."""
    path = tmp_path / "x.csv"
    path.write_text("a,b\n\n,,\n3\n1,2\nx,\na,b\n\na,b\n", encoding="utf-8")
    for block_size in (4, 64, 1 << 16):
        _, _, _, problems = both_paths_agree(path, block_size)
        assert problems == [("csv.blank-line", n) for n in (2, 3, 8)]


@pytest.mark.parametrize("block_size", [4, 16, 1 << 16])
def test_a_cr_inside_a_crlf_line_is_csv_readers_to_judge(tmp_path: Path, block_size: int) -> None:
    """Every CR must end a line for the quick path; a CR inside a line goes to csv.reader,
    which refuses it as it refuses any unquoted line break."""
    path = tmp_path / "x.csv"
    path.write_text("a,b\r\n1\r2,3\r\n4,5\r\n", encoding="utf-8", newline="")
    header, records, _, problems = both_paths_agree(path, block_size)
    assert header == ["a", "b"]
    assert records == [(3, ("4", "5"))]
    assert problems == [("csv.malformed", 2)]
