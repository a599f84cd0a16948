"""Every pattern of every schema rejects a value followed by a newline.

jsonschema applies `pattern` with Python's `re.search`, where `$` also matches before a final
"\\n": an id or an address ending in a newline would pass, and a newline in an e-mail header
ends the headers early. So each pattern that is anchored at its end must refuse value + "\\n".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _schema_files() -> list[Path]:
    root = Path(__file__).resolve().parents[3] / "schemas"
    return sorted(root.glob("*.json"))


def _patterns(node: object, where: str, negated: bool = False) -> Iterator[tuple[str, str, bool]]:
    """(pattern, where, under a `not`) for every `pattern` and `patternProperties` key."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value, where, negated
            elif key == "patternProperties" and isinstance(value, dict):
                for name, sub in value.items():
                    yield name, f"{where}/patternProperties", negated
                    yield from _patterns(sub, f"{where}/patternProperties/{name}", negated)
            else:
                yield from _patterns(value, f"{where}/{key}", negated or key == "not")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _patterns(item, f"{where}/{i}", negated)


ALL = [
    (pattern, f"{path.name}#{where}", negated)
    for path in _schema_files()
    for pattern, where, negated in _patterns(json.loads(path.read_text()), "")
]


def test_the_schemas_have_patterns() -> None:
    assert len(ALL) > 40


@pytest.mark.parametrize(("pattern", "where", "negated"), ALL, ids=[w for _, w, _ in ALL])
def test_a_pattern_is_anchored_at_both_ends_unless_it_forbids_a_prefix(
    pattern: str, where: str, negated: bool
) -> None:
    if negated:  # `not: {pattern: "^="}`: a value may not start with it; any end is fine
        assert pattern.startswith("^"), where
        return
    assert pattern.startswith("^") and pattern.endswith("$(?!\\n)"), where


@pytest.mark.parametrize(("pattern", "where"), [(p, w) for p, w, n in ALL if not n])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_pattern_matches_a_value_with_a_trailing_newline(
    pattern: str, where: str, data: st.DataObject
) -> None:
    body = pattern.removesuffix("(?!\\n)")
    value = data.draw(st.from_regex(body, fullmatch=True).filter(lambda v: "\n" not in v))
    assert re.search(pattern, value), (where, value)
    assert re.search(pattern, value + "\n") is None, (where, value)
