"""A progress bar on stderr while `check` reads a large file, for people at a terminal."""

from __future__ import annotations

import time
from typing import TextIO

from retrobatch.check.submissions import ProgressFor
from retrobatch.csvfile.validate import Progress

LARGE = 50 * 1024 * 1024  # smaller files are read before a bar would be worth drawing
WIDTH = 30
MB = 1024 * 1024


def bar_line(label: str, done: int, total: int) -> str:
    share = min(done / total, 1.0) if total else 1.0
    filled = int(share * WIDTH)
    return (
        f"{label} [{'#' * filled}{'.' * (WIDTH - filled)}] {share:4.0%} "
        f"{done / MB:,.0f}/{total / MB:,.0f} MB"
    )


def bars(stream: TextIO, threshold: int = LARGE, interval: float = 0.2) -> ProgressFor:
    """A `ProgressFor` that draws a bar for files of at least `threshold` bytes."""

    def progress_for(rel: str, size: int) -> Progress | None:
        if size < threshold:
            return None
        last = [0.0]

        def tell(done: int) -> None:
            if done < 0:
                stream.write("\r\033[K")
                stream.flush()
                return
            now = time.monotonic()
            if now - last[0] >= interval or done >= size:
                last[0] = now
                stream.write("\r" + bar_line(rel, done, size))
                stream.flush()

        return tell

    return progress_for
