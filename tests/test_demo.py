"""`retrobatch demo` is the README's first command: it must work end to end, offline."""

import datetime as dt
import io

from retrobatch import demo
from retrobatch.cli import main


def test_demo_sends_each_sample_once_and_shows_receipts() -> None:
    out = io.StringIO()
    assert demo.run_demo(out, main) == 0
    text = out.getvalue()
    assert "(the pull request check: exit 0)" in text
    assert "(merge to main sends: exit 0)" in text
    assert "(a second run sends nothing: exit 0)" in text
    assert text.count("to online-sale@inbound.example") == 2
    assert "state: sent" in text
    assert "unexpected" not in text


def test_samples_move_with_today() -> None:
    samples = demo.sample_submissions(dt.date(2030, 1, 15))
    assert sorted(samples) == ["2030-01-15-checkout-outage", "2030-01-15-partner-promo"]
    csv = samples["2030-01-15-checkout-outage"]["conversions.csv"]
    assert "2030-01-12T" in csv
