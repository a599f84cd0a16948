"""check_csv says the same whichever way a file is read: fast split or csv.reader, large or
tiny blocks. The paths differ in what they know about a batch (its text, whether a cell is
empty), so the checker takes different shortcuts on each; the findings must not differ."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrobatch.csvfile import validate as csvcheck
from retrobatch.csvfile.stream import CsvStream
from retrobatch.csvfile.templates import Column, load_template
from retrobatch.csvfile.validate import CsvContext, CsvResult
from retrobatch.repository.schemas import TEMPLATES

AS_OF = dt.datetime(2026, 11, 27, 23, 59, 59, tzinfo=dt.UTC)
CTX = CsvContext(12345, AS_OF, custom_reasons=("PRICE_MATCH",), max_email_bytes=17_000)
POOLS = {"OrderId": ["A", "B", "C"], "Sku": ["S1", "S2"], "ActionId": ["7", "8"]}


def cell(column: Column) -> st.SearchStrategy[str]:
    options = [st.just(""), st.text(alphabet="ab1=@.-", max_size=5)]
    if column.name in POOLS:
        options.append(st.sampled_from(POOLS[column.name]))
    if column.name == "EventDate":
        options.append(st.sampled_from(["2026-11-20T10:00Z", "2026-08-01T00:00+02", "NOW"]))
    if column.name == "Reason":
        options.append(st.sampled_from(["RESET", "PRICE_MATCH", "reset"]))
    if column.pattern is not None:
        valid = st.from_regex(column.pattern.pattern, fullmatch=True)
        # no NUL: a binary file stops at the block holding it, which depends on the block size
        options.append(valid.filter(lambda v: not set(v) & set('\r\n"\0')))
    return st.one_of(options)


@st.composite
def files(draw: st.DrawFn) -> tuple[str, str]:
    template = draw(st.sampled_from(TEMPLATES))
    columns = list(load_template(template).columns.values())
    rows = draw(st.lists(st.tuples(*(cell(c) for c in columns)), min_size=1, max_size=25))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow(row)
        if draw(st.integers(0, 9)) == 0:
            out.write("\n")
    return template, out.getvalue()


def run(path: Path, template: str, monkeypatch: pytest.MonkeyPatch, **stream: object) -> CsvResult:
    monkeypatch.setattr(csvcheck, "CsvStream", functools.partial(CsvStream, **stream))
    return csvcheck.check_csv(path, "x.csv", template, CTX)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=files())
def test_fast_and_reader_paths_give_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: tuple[str, str]
) -> None:
    template, text = case
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    fast = run(path, template, monkeypatch)
    for stream in ({"block_size": 40}, {"fast": False}, {"fast": False, "block_size": 40}):
        other = run(path, template, monkeypatch, **stream)
        assert other.findings == fast.findings, stream
        assert (other.stats, other.orders, other.actions) == (
            fast.stats,
            fast.orders,
            fast.actions,
        ), stream
