"""The linters the tests run on the workflows, from the virtualenv's test extra."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install the test extra (pip install -e '.[test]')")
    return found


def zizmor(*inputs: Path) -> subprocess.CompletedProcess[str]:
    """zizmor offline with its pedantic persona, stricter than the default the issue asks for."""
    command = [tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress"]
    return subprocess.run([*command, *map(str, inputs)], capture_output=True, text=True)
