"""retrobatch: submit conversion data to impact.com retroactively, reviewed in git."""

__version__ = "0.1.0"
