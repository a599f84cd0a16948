"""`retrobatch new` and `retrobatch init`: what they write, and that it is valid."""

import datetime as dt
import subprocess
from pathlib import Path

import git
import pytest
import yaml

from retrobatch import __version__, scaffold
from retrobatch.cli import main
from retrobatch.repository.manifest import load_manifest
from retrobatch.repository.schemas import load_schema, schema_dir
from retrobatch.repository.settings import load_settings
from support.repo_factory import RepoFactory
from support.tools import tool, zizmor


@pytest.fixture
def factory(tmp_path: Path) -> RepoFactory:
    return RepoFactory(tmp_path / "repo")


def new(factory: RepoFactory, *args: str) -> int:
    return main(["new", *args, "--repo", str(factory.root)])


def test_new_writes_a_valid_manifest_and_header_only_csv(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        new(factory, "2026-11-20-outage", "--template", "item-level", "--event-type", "12345") == 0
    )
    folder = factory.root / "submissions/2026-11-20-outage"
    settings, _ = load_settings(factory.root)
    loaded = load_manifest(folder, factory.root, settings)
    # the description is new's placeholder: an error until a person writes one
    assert [(f.code, f.severity, f.line) for f in loaded.findings] == [
        ("manifest.placeholder", "error", 5)
    ]
    assert loaded.manifest is not None and loaded.manifest.event_type == 12345
    assert loaded.manifest.requested_by == "test@brand.example"  # git's user.email
    assert (folder / "conversions.csv").read_text() == scaffold.MINIMAL_HEADERS["item-level"] + "\n"
    assert "created submissions/2026-11-20-outage/" in capsys.readouterr().out


def test_new_modifications_and_app_destinations(factory: RepoFactory) -> None:
    assert (
        new(factory, "2026-11-21-returns", "--template", "modifications", "--event-type", "12345")
        == 0
    )
    csv = factory.root / "submissions/2026-11-21-returns/modifications.csv"
    assert csv.read_text() == "OrderId,ActionTrackerId,Amount,Reason\n"
    assert new(factory, "2026-11-21-app", "--template", "order-level", "--event-type", "67890") == 0
    header = (factory.root / "submissions/2026-11-21-app/conversions.csv").read_text().strip()
    assert header.split(",")[-1] == "EventCode"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2026-13-01-x", "--event-type", "12345"], "2026-13-01 is not a date"),
        (["Outage", "--event-type", "12345"], "expected YYYY-MM-DD-slug"),
        (["2026-11-20-" + "x" * 60, "--event-type", "12345"], "longer than 64"),
        (["2026-11-20-outage", "--event-type", "999"], "--event-type 999: not in retrobatch.yaml"),
    ],
)
def test_new_refuses_bad_input_with_exit_2(
    factory: RepoFactory, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert new(factory, *args, "--template", "order-level") == 2
    assert message in capsys.readouterr().err
    assert not any((factory.root / "submissions").iterdir())


def test_new_never_overwrites(factory: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    factory.submission("2026-11-20-outage", "OrderId\nA\n")
    assert (
        new(factory, "2026-11-20-outage", "--template", "order-level", "--event-type", "12345") == 2
    )
    assert "already exists" in capsys.readouterr().err
    assert (
        factory.root / "submissions/2026-11-20-outage/conversions.csv"
    ).read_text() == "OrderId\nA\n"


def test_init_makes_a_repository_that_checks_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "subs"
    assert main(["init", str(target)]) == 0
    assert git.Repo(target).active_branch.name == "main"
    settings, problems = load_settings(target)
    assert settings is not None and problems == []
    for rel in (".github/CODEOWNERS", "submissions/README.md", "README.md"):
        assert (target / rel).is_file()
    codeowners = (target / ".github/CODEOWNERS").read_text()
    assert "/retrobatch.yaml" in codeowners and "/.github/" in codeowners
    for name in scaffold.WORKFLOWS:
        assert yaml.safe_load((target / ".github/workflows" / name).read_text())
    setup = (target / ".github" / scaffold.SETUP_ACTION).read_text()
    assert f"pip install --quiet retrobatch=={__version__}\n" in setup
    [example] = (target / "examples").iterdir()
    capsys.readouterr()
    assert main(["check", "--repo", str(target), str(example)]) == 1  # init's placeholder address
    assert "[config.placeholder]" in capsys.readouterr().out
    settings_file = target / "retrobatch.yaml"
    text = settings_file.read_text().replace("replace-me@", "a1b2c3@")
    settings_file.write_text(text)
    assert main(["check", "--repo", str(target), str(example)]) == 0
    assert main(["check", "--repo", str(target)]) == 0


def test_init_workflows_pass_both_tools(tmp_path: Path) -> None:
    scaffold.init_repository(tmp_path / "subs")
    workflows = sorted(str(p) for p in (tmp_path / "subs/.github/workflows").glob("*.yml"))
    schema = [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows]
    assert subprocess.run(schema, capture_output=True).returncode == 0
    result = zizmor(tmp_path / "subs/.github/workflows", tmp_path / "subs/.github/actions")
    assert result.returncode == 0, result.stdout + result.stderr


def test_init_example_is_dated_yesterday(tmp_path: Path) -> None:
    scaffold.init_repository(tmp_path / "subs", today=dt.date(2026, 11, 27))
    assert (tmp_path / "subs/examples/2026-11-26-example/manifest.yaml").is_file()


def test_init_refuses_a_folder_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path / "used")]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err


@pytest.mark.parametrize("template", sorted(scaffold.MINIMAL_HEADERS))
def test_headers_satisfy_the_template_schema(template: str) -> None:
    """The schemas are the one source of column facts; each starter header must satisfy its own:
    every required column, one alternative of each "one of" group, and only known columns."""
    if not (schema_dir() / f"{template}.schema.json").is_file():
        pytest.skip("template schemas not on this branch yet")
    schema = load_schema(template)
    header = set(scaffold.csv_header(template).split(","))
    assert header <= set(schema["properties"])
    assert set(schema.get("required", [])) <= header
    for group in schema.get("allOf", []):
        options = group.get("anyOf") or group.get("oneOf") or []
        assert any(set(option["required"]) <= header for option in options), group
