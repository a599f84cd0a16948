"""The workflows: valid for GitHub, clean under zizmor, and rendered from the one skeleton."""

import subprocess
from pathlib import Path

import pytest
import yaml

from retrobatch import scaffold
from support.tools import tool, zizmor

ROOT = Path(__file__).parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"
SETUP_ACTION = ROOT / ".github" / scaffold.SETUP_ACTION
REGENERATE = (
    "python -c 'from pathlib import Path; from retrobatch import scaffold; "
    'scaffold.write_project_files(Path("."))\''
)


def load(name: str) -> dict[object, object]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_workflows_match_githubs_schema(schema: str) -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) == 5
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *files],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_shared_action_matches_githubs_schema() -> None:
    check = [tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions"]
    result = subprocess.run([*check, str(SETUP_ACTION)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing() -> None:
    result = zizmor(WORKFLOWS, SETUP_ACTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_project_files_are_rendered_from_the_skeleton() -> None:
    for rel, text in scaffold.project_files().items():
        assert (ROOT / rel).read_text(encoding="utf-8") == text, f"{rel} is stale: {REGENERATE}"


def test_pull_request_check_is_read_only_and_gets_its_base_from_env() -> None:
    wf = load("check.yml")
    assert wf["permissions"] == {}
    job = wf["jobs"]["check"]
    assert job["permissions"] == {"contents": "read"}
    assert "environment" not in job and "secrets." not in (WORKFLOWS / "check.yml").read_text()
    assert wf["concurrency"]["cancel-in-progress"] is True
    step = job["steps"][-1]
    assert step["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert step["run"] == 'retrobatch check --base "$BASE_SHA" --format github'


def test_submit_never_cancels_and_ignores_receipt_only_commits() -> None:
    wf = load("submit.yml")
    on = wf[True]  # YAML 1.1 reads the key `on` as true
    assert on["push"]["branches"] == ["main"]
    assert "!submissions/*/receipt.yaml" in on["push"]["paths"]
    assert on["workflow_dispatch"]["inputs"]["retry-failed"]["type"] == "boolean"
    assert wf["concurrency"] == {"group": "retrobatch-submit", "cancel-in-progress": False}
    job = wf["jobs"]["submit"]
    assert job["environment"] == "retrobatch"
    assert job["permissions"] == {"contents": "write"}
    runs = [s for s in job["steps"] if "retrobatch run" in s.get("run", "")]
    assert len(runs) == 1 and "--save-copies" in runs[0]["run"]
    upload = next(s for s in job["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "always()"


def test_resolve_passes_inputs_through_env() -> None:
    text = (WORKFLOWS / "resolve.yml").read_text()
    run = load("resolve.yml")["jobs"]["resolve"]["steps"][-1]
    assert set(run["env"]) >= {"SUBMISSION", "DECISION", "NOTE", "PART", "FORCE"}
    assert "${{" not in run["run"] and text.count("${{ inputs.") == 5


def test_every_action_is_pinned_by_commit() -> None:
    for path in [*WORKFLOWS.glob("*.yml"), SETUP_ACTION]:
        for line in path.read_text().splitlines():
            ref = line.split("uses:")[1].split("#")[0].strip() if "uses:" in line else "$/"
            if not ref.startswith("$/"):  # `$/`: this repository at the commit being run
                assert len(ref.split("@")[1]) == 40, f"{path.name}: {line.strip()}"


def test_pre_commit_hook() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "retrobatch-check"
    assert hook["entry"] == "retrobatch check" and hook["language"] == "python"
    assert hook["pass_filenames"] is True
