"""retrobatch.yaml's last clean parse is kept in .git/retrobatch by a hash of its text: a
command whose files are all cached loads neither YAML nor the e-mail package. The cache can only
make reading faster, never different."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from retrobatch.repository import cachedir
from retrobatch.repository import settings as settings_module
from retrobatch.repository.settings import SETTINGS_CACHE, load_settings
from support.repo_factory import SETTINGS, RepoFactory


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return RepoFactory(tmp_path / "repo").root


def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts actually parsed (cache misses)."""
    seen: list[str] = []
    original = settings_module._parse

    def counting(text: str, path: str = "retrobatch.yaml") -> tuple:
        seen.append(text)
        return original(text, path)

    monkeypatch.setattr(settings_module, "_parse", counting)
    return seen


def cache_file(root: Path) -> Path:
    return root / ".git" / "retrobatch" / SETTINGS_CACHE


def test_the_second_load_is_the_cached_parse_and_an_edit_is_parsed(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = parses(monkeypatch)
    first = load_settings(root)
    second = load_settings(root)
    assert len(seen) == 1 and first == second and first[0] is not None
    (root / "retrobatch.yaml").write_text(SETTINGS.replace("Online Sale", "Web Sale"))
    edited, problems = load_settings(root)
    assert len(seen) == 2 and problems == []
    assert edited is not None and edited.destination(12345).name == "Web Sale"


def test_settings_with_findings_are_parsed_every_time(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "retrobatch.yaml").write_text(SETTINGS + "surprise: 1\n")
    seen = parses(monkeypatch)
    first, second = load_settings(root), load_settings(root)
    assert len(seen) == 2 and first == second
    assert first[0] is None and first[1][0].line is not None


@pytest.mark.parametrize(
    "damage",
    [
        "not json",
        "[" * 100_000,
        json.dumps([1, 2]),
        json.dumps({"key": "another text's hash", "data": {}}),
        "same key, data of another shape",
    ],
    ids=["not json", "nested", "a list", "another key", "another shape"],
)
def test_a_damaged_cache_is_parsed_again_to_the_same_settings(
    root: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    expected = load_settings(root)
    if damage == "same key, data of another shape":
        entry = json.loads(cache_file(root).read_text())
        entry["data"] = {"sender": ["not", "an", "address"]}
        damage = json.dumps(entry)
    cache_file(root).write_text(damage)
    seen = parses(monkeypatch)
    assert load_settings(root) == expected
    assert len(seen) == 1


def test_a_worktree_shares_the_clones_cache_folder(root: Path) -> None:
    """An ordinary clone's cache folder is found without git; a worktree's is git's answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@x"]
    subprocess.run([*git, "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=root, check=True, env=env)
    tree = root.parent / "tree"
    subprocess.run([*git, "worktree", "add", "-q", str(tree)], cwd=root, check=True, env=env)
    assert cachedir.cache_dir(root) == root / ".git" / "retrobatch"
    assert cachedir.cache_dir(tree) == (root / ".git" / "retrobatch").resolve()


def test_check_with_its_files_cached_loads_neither_yaml_nor_the_email_package(
    root: Path,
) -> None:
    code = (
        "import sys\nfrom retrobatch import cli\n"
        f"status = cli.main(['check', '--repo', {str(root)!r}])\n"
        "print(status, sorted({'yaml', 'email.headerregistry'} & set(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        ).stdout.splitlines()[-1]
        for _ in range(2)
    ]
    assert runs == ["0 ['email.headerregistry', 'yaml']", "0 []"]
