"""`retrobatch demo` is the README's first command: it must work end to end, offline."""

import datetime as dt
import io

import pytest

from retrobatch import demo
from retrobatch.cli import main


def test_demo_tells_the_whole_story(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert demo.run_demo(out, main) == 0
    text = out.getvalue() + capsys.readouterr().out  # the story, and what the commands printed
    # the pull request holds an Excel export: the check annotates it and fails
    assert "(the pull request check: annotations on the diff: exit 1)" in text
    assert "::error file=submissions/" in text and "';'-delimited" in text
    # fix repairs it; the check is green; merge sends both batches
    assert "dates made ISO 8601 with an offset: 5" in text
    assert "(the pull request check is green: exit 0)" in text
    assert "(merge to main sends: exit 0)" in text
    assert text.count("to online-sale@inbound.example from") == 2
    # impact.com's stand-in reports one error, which status shows on its CSV row
    assert "(impact.com's report, an hour later: exit 0)" in text
    assert "Complete, 1 error\n" in text
    assert "conversions.csv:6: OrderId W-1003: Sku SKU-102: CONV_DUPLICATE" in text
    assert "(a second run sends nothing: exit 0)" in text
    assert "unexpected" not in text
    assert "Demo finished; its temporary folder is removed." in text


def test_samples_move_with_today() -> None:
    samples = demo.sample_submissions(dt.date(2030, 1, 15))
    assert sorted(samples) == ["2030-01-15-checkout-outage", "2030-01-15-partner-promo"]
    csv = samples["2030-01-15-checkout-outage"]["conversions.csv"]
    assert "2030-01-12T" in csv
    export = demo.excel_export(dt.date(2030, 1, 15))
    assert export.startswith(b"\xef\xbb\xbf") and b"\r\n" in export
    assert b";1/12/2030 9:15 AM;" in export
