"""History read once: the order index under .git/retrobatch and the snapshot's parse cache."""

import json
import subprocess
from pathlib import Path

import pytest

from retrobatch.check import order_index
from retrobatch.cli import main
from retrobatch.csvfile import validate as csvcheck
from retrobatch.repository import receipts, snapshot
from retrobatch.repository.settings import load_settings
from support.repo_factory import RepoFactory, item_rows


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    f = RepoFactory(tmp_path / "repo")
    f.submission("2026-11-20-first", item_rows("A-1", "A-2"))
    f.receipt("2026-11-20-first", "sent")
    f.submission("2026-11-21-second", item_rows("B-1"))
    f.receipt("2026-11-21-second", "sent")
    f.commit("history")
    return f


def check(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> tuple[list[dict], str]:
    main(["check", "--repo", str(factory.root), "--format", "json"])
    out = capsys.readouterr()
    return json.loads(out.out)["findings"], out.err


def index_files(factory: RepoFactory) -> list[Path]:
    return sorted((factory.root / ".git" / "retrobatch" / "orders").iterdir())


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every delivered CSV read for its keys (by the index or to confirm a match)."""
    read: list[Path] = []
    original = csvcheck.collect_keys

    def counting(path: Path, template: str) -> tuple[dict, dict]:
        read.append(path)
        return original(path, template)

    monkeypatch.setattr(order_index, "collect_keys", counting)
    monkeypatch.setattr("retrobatch.check.repository.collect_keys", counting)
    return read


def test_the_first_check_builds_the_index_once_and_says_so(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory.submission("2026-11-22-new", item_rows("C-1"))
    read = count_reads(monkeypatch)
    found, err = check(factory, capsys)
    assert found == []
    assert "indexing the orders of 2 CSV(s)" in err
    first = factory.root / "submissions" / "2026-11-20-first" / "conversions.csv"
    assert [p.name for p in index_files(factory)] == sorted(
        f"{factory.repo.git.hash_object(str(p))}.item-level"
        for p in (first, first.parent.parent / "2026-11-21-second" / "conversions.csv")
    )
    assert len(read) == 2
    read.clear()
    found, err = check(factory, capsys)
    assert (found, err, read) == ([], "", [])  # history is not read again


def test_a_git_folder_that_takes_no_file_keeps_the_index_for_the_run_and_says_so(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = factory.root / ".git" / "retrobatch"
    cache.mkdir()
    if subprocess.run(["chattr", "+i", str(cache)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here (a read-only folder for root too)")
    try:
        factory.submission("2026-11-22-new", item_rows("C-1", "A-2"))
        found, err = check(factory, capsys)
        assert [f["code"] for f in found] == ["repo.duplicate-order"]
        assert "for this run only (no writable git folder to keep it in)" in err
        assert "kept in" not in err
    finally:
        subprocess.run(["chattr", "-i", str(cache)], capture_output=True)
    assert not list(cache.iterdir())


def test_a_duplicate_is_found_through_the_index_and_confirmed_in_that_csv_alone(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory.submission("2026-11-22-new", item_rows("C-1"))
    check(factory, capsys)  # builds the index
    factory.submission("2026-11-22-new", item_rows("C-1", "A-2"))
    read = count_reads(monkeypatch)
    [f], _ = check(factory, capsys)
    assert f["code"] == "repo.duplicate-order" and "'A-2'" in f["message"]
    assert "2026-11-20-first (line 4)" in f["message"]
    assert [p.parent.name for p in read] == ["2026-11-20-first"]


def test_a_damaged_or_false_entry_never_makes_or_hides_a_finding(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-22-new", item_rows("C-1"))
    check(factory, capsys)
    first, second = index_files(factory)
    first.write_bytes(b"\x00\x01")  # truncated: rebuilt from the CSV
    # An entry claiming C-1 (a hash collision, or a stale file): the CSV itself is asked.
    second.write_bytes((8).to_bytes(8, "little") + order_index._digests(["C-1"]))
    found, err = check(factory, capsys)
    assert found == []
    assert "indexing the orders of 1 CSV(s)" in err
    factory.submission("2026-11-22-new", item_rows("C-1", "A-1"))
    found, _ = check(factory, capsys)
    assert [f["code"] for f in found] == ["repo.duplicate-order"]


def test_an_edited_delivered_csv_is_indexed_by_its_new_content(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    factory.submission("2026-11-22-new", item_rows("C-1", "D-1"))
    assert check(factory, capsys)[0] == []
    # Not the committed blob any more: the work tree's bytes are hashed and indexed anew.
    factory.submission("2026-11-21-second", item_rows("B-1", "D-1"))
    found, err = check(factory, capsys)
    assert [f["code"] for f in found] == ["repo.duplicate-order"]
    assert "indexing the orders of 1 CSV(s)" in err


def test_the_snapshot_parses_each_file_once_and_again_only_when_it_changes(
    factory: RepoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = load_settings(factory.root)
    calls: list[str] = []
    original = receipts.parse_receipt_data

    def counting(text: str, rel: str) -> tuple:
        calls.append(rel)
        return original(text, rel)

    monkeypatch.setattr(receipts, "parse_receipt_data", counting)
    first = snapshot.take(factory.root, settings)
    assert len(calls) == 2
    again = snapshot.take(factory.root, settings)
    assert calls == calls[:2]  # from .git/retrobatch/parsed.json
    assert [s.receipt for s in again.submissions] == [s.receipt for s in first.submissions]
    assert [s.manifest for s in again.submissions] == [s.manifest for s in first.submissions]
    factory.receipt("2026-11-21-second", "failed")
    changed = snapshot.take(factory.root, settings)
    assert calls[2:] == ["submissions/2026-11-21-second/receipt.yaml"]
    assert [s.receipt.state for s in changed.submissions if s.receipt] == ["sent", "failed"]


def test_a_damaged_parse_cache_is_ignored(factory: RepoFactory) -> None:
    settings, _ = load_settings(factory.root)
    snapshot.take(factory.root, settings)
    cache = factory.root / ".git" / "retrobatch" / snapshot.PARSED_FILE
    cache.write_text("{not json", encoding="utf-8")
    snap = snapshot.take(factory.root, settings)
    assert [s.receipt.state for s in snap.submissions if s.receipt] == ["sent", "sent"]
    assert json.loads(cache.read_text(encoding="utf-8"))["version"] == 1


@pytest.mark.parametrize(
    "damage",
    ["nested", "parsed is a list", "entries of another shape"],
)
def test_a_parse_cache_that_is_valid_json_of_another_shape_is_ignored(
    factory: RepoFactory, damage: str
) -> None:
    settings, _ = load_settings(factory.root)
    first = snapshot.take(factory.root, settings)
    cache = factory.root / ".git" / "retrobatch" / snapshot.PARSED_FILE
    doc = json.loads(cache.read_text(encoding="utf-8"))
    if damage == "nested":
        cache.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    elif damage == "parsed is a list":
        cache.write_text(json.dumps({"version": 1, "parsed": [1, 2]}), encoding="utf-8")
    else:
        doc["parsed"] = {key: {"state": ["not", "a", "state"]} for key in doc["parsed"]}
        cache.write_text(json.dumps(doc), encoding="utf-8")
    snap = snapshot.take(factory.root, settings)
    assert [s.receipt for s in snap.submissions] == [s.receipt for s in first.submissions]
    assert [s.manifest for s in snap.submissions] == [s.manifest for s in first.submissions]


def test_cached_manifest_findings_keep_their_lines(factory: RepoFactory) -> None:
    """A manifest cached while valid that the settings now refuse is parsed again, so the
    finding points at its line."""
    settings, _ = load_settings(factory.root)
    snapshot.take(factory.root, settings)
    assert settings is not None
    narrower = type(settings)(
        settings.sender, {"67890": settings.destinations["67890"]}, settings.cc_allowed_domains
    )
    snap = snapshot.take(factory.root, narrower)
    [f] = snap.submissions[0].loaded.findings
    assert (f.code, f.line) == ("manifest.unknown-event-type", 3)
