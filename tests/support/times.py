"""Moments as receipts and impact.com's API write them: UTC, whole seconds, `Z`."""

import datetime as dt


def utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> dt.datetime:
    """Now in UTC to the second, as a receipt can hold it."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
