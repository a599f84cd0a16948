"""The schemas in the top-level schemas/ are the one source; the wheel must carry them."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_wheel_carries_every_schema(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    [wheel] = tmp_path.glob("retrobatch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"retrobatch/schemas/{p.name}" for p in (ROOT / "schemas").glob("*.json")}
    assert expected and expected <= names
    skeleton = ROOT / "src" / "retrobatch" / "skeleton"  # what `retrobatch init` writes
    files = {
        f"retrobatch/{p.relative_to(skeleton.parent).as_posix()}"
        for p in skeleton.rglob("*")
        if p.is_file()
    }
    assert "retrobatch/skeleton/workflows/submit.yml" in files
    assert files <= names
