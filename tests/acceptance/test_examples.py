"""The examples in examples/ are valid submissions: what a new user copies must pass."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from retrobatch.csvfile.validate import CsvContext, check_csv
from retrobatch.repository import schemas
from retrobatch.repository.manifest import load_manifest
from retrobatch.repository.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/manifest.yaml"))
AS_OF = dt.datetime(2026, 11, 27, 23, 59, 59, tzinfo=dt.UTC)


def test_there_is_an_example_for_every_template() -> None:
    templates = set()
    for folder in EXAMPLES:
        loaded = load_manifest(folder, ROOT, None)
        assert loaded.manifest is not None, loaded.findings
        templates.add(loaded.manifest.template)
    assert templates == set(schemas.TEMPLATES)


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_check_with_no_errors(folder: Path) -> None:
    settings, problems = load_settings(ROOT)
    assert settings is not None, problems
    loaded = load_manifest(folder, ROOT, settings)
    assert loaded.findings == []
    manifest, csv_path = loaded.manifest, loaded.csv_path
    assert manifest is not None and csv_path is not None
    destination = settings.destination(manifest.event_type)
    assert destination is not None
    ctx = CsvContext(
        event_type=manifest.event_type,
        as_of=AS_OF,
        app=destination.app,
        custom_reasons=settings.reason_codes(manifest.event_type),
        max_email_bytes=settings.max_email_bytes,
    )
    rel = csv_path.relative_to(ROOT).as_posix()
    result = check_csv(csv_path, rel, manifest.template, ctx)
    assert [f for f in result.findings if f.severity == "error"] == []
    assert result.stats.rows > 0
