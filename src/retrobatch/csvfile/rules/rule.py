"""What every rule is given, and the lifecycle they share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from retrobatch.csvfile.rules.batch import Batch
from retrobatch.csvfile.templates import HeaderMap, Template
from retrobatch.findings import Finding, finding


@dataclass(frozen=True)
class CsvContext:
    event_type: int  # the manifest's event_type
    as_of: dt.datetime  # aware UTC instant ("future" = after it; ages from it)
    app: bool = False  # destination has app: true -> EventCode column required
    custom_reasons: tuple[str, ...] = ()
    max_email_bytes: int = 10 * 1024 * 1024
    # Event types of retrobatch.yaml: a chained file may carry rows of any of them.
    known_event_types: frozenset[int] = frozenset()


class Rule:
    """One concern's checks with the state it keeps across batches, as frictionless-py's checks
    have theirs: told each batch of a file in turn (`feed`), then asked once for what only the
    whole file shows (`finish`). Work inside `feed` goes a column at a time, never a call per
    record."""

    def __init__(self, tpl: Template, header: HeaderMap, ctx: CsvContext, rel: str) -> None:
        self.tpl = tpl
        self.header = header
        self.ctx = ctx
        self.rel = rel

    def feed(self, batch: Batch) -> list[Finding]:
        return []

    def finish(self) -> list[Finding]:
        return []

    def _at(self, code: str, batch: Batch, i: int, j: int, message: str) -> Finding:
        """A finding about record i of the batch, in field j."""
        return finding(code, self.rel, message, batch.lines[i], self.header.names[j])

    def field(self, canonical: str) -> int | None:
        return self.header.index.get(canonical)
