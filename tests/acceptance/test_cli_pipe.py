"""A reader that stops early (`| head`) ends the command quietly, not with a traceback."""

import subprocess
import sys


def test_output_cut_short_is_no_error() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "retrobatch.cli", "columns", "item-level"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before the command writes a line
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err
