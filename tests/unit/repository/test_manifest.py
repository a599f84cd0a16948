from pathlib import Path

import pytest

from retrobatch.repository.manifest import load_manifest
from retrobatch.repository.settings import parse_settings
from support.repo_factory import SETTINGS, RepoFactory, item_rows, manifest_text

SETTINGS_OBJ = parse_settings(SETTINGS)[0]


def codes(folder: Path, root: Path) -> list[str]:
    return [f.code for f in load_manifest(folder, root, SETTINGS_OBJ).findings]


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    return RepoFactory(tmp_path / "repo")


def test_a_good_manifest_names_its_csv(factory: RepoFactory) -> None:
    folder = factory.submission("2026-11-20-outage", item_rows("A-1"))
    loaded = load_manifest(folder, factory.root, SETTINGS_OBJ)
    assert loaded.findings == []
    assert loaded.manifest is not None and loaded.manifest.event_type == 12345
    assert loaded.csv_path == folder / "conversions.csv"


def test_id_must_equal_the_folder(factory: RepoFactory) -> None:
    folder = factory.submission(
        "2026-11-20-outage", item_rows("A-1"), manifest=manifest_text("2026-11-21-outage")
    )
    [f] = load_manifest(folder, factory.root, SETTINGS_OBJ).findings
    assert (f.code, f.line, f.path) == (
        "manifest.id-mismatch",
        1,
        "submissions/2026-11-20-outage/manifest.yaml",
    )


def test_unknown_key_duplicate_key_and_syntax(factory: RepoFactory) -> None:
    sub = "2026-11-20-outage"
    folder = factory.submission(
        sub, item_rows("A-1"), manifest=manifest_text(sub) + "to: someone@else.example\n"
    )
    assert codes(folder, factory.root) == ["manifest.schema"]
    factory.submission(sub, manifest=manifest_text(sub) + "id: again\n")
    assert "manifest.duplicate-key" in codes(folder, factory.root)
    factory.submission(sub, manifest="id: [unclosed\n")
    assert codes(folder, factory.root) == ["manifest.syntax"]


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", ""])
def test_a_manifest_that_is_no_mapping(factory: RepoFactory, text: str) -> None:
    folder = factory.submission("2026-11-20-outage", manifest=text)
    loaded = load_manifest(folder, factory.root, SETTINGS_OBJ)
    assert loaded.manifest is None
    assert [f.code for f in loaded.findings] in (["manifest.schema"], ["manifest.syntax"])


def test_unknown_event_type_and_cc_outside_domains(factory: RepoFactory) -> None:
    sub = "2026-11-20-outage"
    text = manifest_text(sub, event_type=555) + "cc: [finance@brand.example, x@other.example]\n"
    folder = factory.submission(sub, item_rows("A-1"), manifest=text)
    found = load_manifest(folder, factory.root, SETTINGS_OBJ).findings
    assert [(f.code, f.line) for f in found] == [
        ("manifest.unknown-event-type", 3),
        ("manifest.cc-domain", 7),
    ]


def test_file_missing_outside_link_and_not_csv(factory: RepoFactory, tmp_path: Path) -> None:
    sub = "2026-11-20-outage"
    folder = factory.submission(sub, manifest=manifest_text(sub, file="nothing.csv"))
    assert codes(folder, factory.root) == ["manifest.file-missing"]
    factory.submission(sub, manifest=manifest_text(sub, file="../../retrobatch.yaml"))
    assert codes(folder, factory.root) == ["manifest.file-outside"]
    (tmp_path / "elsewhere.csv").write_text("x\n")
    (folder / "link.csv").symlink_to(tmp_path / "elsewhere.csv")
    factory.submission(sub, manifest=manifest_text(sub, file="link.csv"))
    assert codes(folder, factory.root) == ["manifest.file-outside"]
    (folder / "data.txt").write_text("x\n")
    factory.submission(sub, manifest=manifest_text(sub, file="data.txt"))
    loaded = load_manifest(folder, factory.root, SETTINGS_OBJ)
    assert [(f.code, f.path) for f in loaded.findings] == [
        ("csv.not-csv", f"submissions/{sub}/data.txt")
    ]


def test_id_date_must_be_a_date(factory: RepoFactory) -> None:
    folder = factory.submission("2026-13-40-x", item_rows("A-1"))
    assert codes(folder, factory.root) == ["manifest.schema"]
