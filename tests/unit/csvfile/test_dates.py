"""The earliest and latest EventDate of a batch (`rules.dates.extreme`): what parsing every
value finds, also where the text alone decides (one layout, one zone)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from retrobatch.csvfile.rules.dates import extreme

# Every layout the EventDate pattern takes: with or without seconds, a fraction, and a zone
# as Z, +HH:MM, +HHMM or +HH.
LAYOUTS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S.%f"]
ZONES = ["Z", "+00:00", "-05:00", "+0530", "+05", "-08:00"]

# Within one day, so that zones reorder what the text alone would say.
moments = st.datetimes(min_value=dt.datetime(2026, 11, 20), max_value=dt.datetime(2026, 11, 21))


def written(moment: dt.datetime, layout: str, zone: str) -> str:
    return moment.strftime(layout) + zone


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def by_parsing(values: list[str], latest: bool) -> tuple[dt.datetime, str] | None:
    best = None
    for value in values:
        instant = parse(value)
        if best is None or (instant > best[0] if latest else instant < best[0]):
            best = (instant, value)
    return best


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(moments, st.sampled_from(LAYOUTS), st.sampled_from(ZONES)),
        min_size=1,
        max_size=80,
    ),
    st.sampled_from(["mixed", "one layout and zone", "one layout, zones of one length"]),
    st.booleans(),
)
def test_extreme_finds_what_parsing_every_value_finds(
    picks: list[tuple[dt.datetime, str, str]], variety: str, latest: bool
) -> None:
    """Past the count where the text alone may decide (repeated as needed): values of every
    layout and zone; of one layout and one zone, where the text decides; of one layout and
    zones as long as each other (+00:00, -05:00), which the text must not decide."""
    _, layout, zone = picks[0]
    if variety == "one layout and zone":
        picks = [(moment, layout, zone) for moment, _, _ in picks]
    elif variety == "one layout, zones of one length":
        alike = ["+00:00", "-05:00", "+03:00", "-08:00"]
        picks = [(moment, layout, alike[n % 4]) for n, (moment, _, _) in enumerate(picks)]
    picks = (picks * 40)[: max(40, len(picks))]
    values = [written(*pick) for pick in picks]
    assert extreme(values, latest=latest) == by_parsing(values, latest)


def test_one_zone_in_two_spellings_is_parsed_not_compared_as_text() -> None:
    """Z and +00:00 are one instant: text order would pick the wrong spelling of a tie."""
    base = dt.datetime(2026, 11, 20, 10, 0)
    values = [written(base + dt.timedelta(seconds=n), LAYOUTS[0], "Z") for n in range(40)]
    values.append("2026-11-20T10:00:39+00:00")
    assert extreme(values, latest=True) == (parse(values[39]), values[39])
    values.append("2026-11-20T09:00:40-01:00")  # later than all, its text sorts first
    assert extreme(values, latest=True) == (parse(values[-1]), values[-1])
