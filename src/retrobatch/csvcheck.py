"""PLACEHOLDER until the csv branch lands: the interface the checker and runner code against."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .findings import Finding


@dataclass(frozen=True)
class CsvContext:
    event_type: int
    as_of: dt.datetime
    app: bool = False
    custom_reasons: tuple[str, ...] = ()
    max_email_bytes: int = 10 * 1024 * 1024


@dataclass
class CsvStats:
    rows: int = 0
    orders: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    first_event: str | None = None
    last_event: str | None = None
    partners: int = 0


@dataclass
class CsvResult:
    findings: list[Finding] = field(default_factory=list)
    stats: CsvStats = field(default_factory=CsvStats)
    orders: dict[str, int] = field(default_factory=dict)
    actions: dict[str, tuple[int, int]] = field(default_factory=dict)


def check_csv(path: Path, rel: str, template: str, ctx: CsvContext) -> CsvResult:
    return CsvResult()


def collect_keys(path: Path, template: str) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    return {}, {}
