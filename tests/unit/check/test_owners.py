from pathlib import Path

import pytest

from retrobatch.check.owners import unowned


def _with(tmp_path: Path, text: str | None, where: str = ".github/CODEOWNERS") -> list[str]:
    if text is not None:
        (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / where).write_text(text, encoding="utf-8")
    return [f.message.split(" has ")[0] for f in unowned(tmp_path)]


@pytest.mark.parametrize(
    "text",
    [
        "/retrobatch.yaml @acme/owners\n/.github/ @acme/owners\n",
        "* @acme/owners\n",
        "retrobatch.yaml ana@acme.example\n.github/ @bo\n",
        "* @your-org/conversion-owners\n/retrobatch.yaml @acme/o\n/.github/** @acme/o\n",
    ],
)
def test_real_owners_satisfy_the_check(tmp_path: Path, text: str) -> None:
    assert _with(tmp_path, text) == []


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        (None, ["retrobatch.yaml", ".github/"]),
        ("# /retrobatch.yaml @acme/owners\n", ["retrobatch.yaml", ".github/"]),
        ("/retrobatch.yaml @your-org/conversion-owners\n/.github/ @acme/o\n", ["retrobatch.yaml"]),
        ("* @acme/o\n/.github/\n", [".github/"]),  # the last match wins, and names nobody
        ("/submissions/ @acme/o\n", ["retrobatch.yaml", ".github/"]),
    ],
)
def test_placeholders_or_nobody_is_a_warning(
    tmp_path: Path, text: str | None, missing: list[str]
) -> None:
    assert _with(tmp_path, text) == missing


def test_codeowners_at_the_root_is_read_too(tmp_path: Path) -> None:
    assert _with(tmp_path, "* @acme/o\n", where="CODEOWNERS") == []
