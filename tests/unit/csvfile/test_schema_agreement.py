"""The checker's fast column tests say what the template schemas say, value for value.

The schemas are the contract; the checker compiles them into single-cell and whole-column
regular expressions for speed. Hypothesis generates values for every column of every template
and `jsonschema` judges each value against the column's own schema.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from retrobatch.csvfile.templates import Column, load_template
from retrobatch.repository import schemas


def _column_validator(schema: dict[str, Any], name: str) -> Draft202012Validator:
    return Draft202012Validator({"$defs": schema["$defs"], **schema["properties"][name]})


COLUMNS = [
    (f"{template}.{name}", column, _column_validator(schemas.load_schema(template), name))
    for template in schemas.TEMPLATES
    for name, column in load_template(template).columns.items()
]


def values_for(column: Column) -> st.SearchStrategy[str]:
    """Valid values, near misses and junk for one column."""
    near = st.text(alphabet=st.sampled_from(list("0123456789.-+:TZz=@ aAeEfF,\n")), max_size=32)
    options = [
        near,
        st.text(max_size=8),
        st.from_regex(r"[a-z]{1,6}@[a-z]{1,6}\.[a-z]{2,3}", fullmatch=True),
        near.map(lambda s: "=" + s),
    ]
    if column.pattern is not None:
        options.append(st.from_regex(column.pattern.pattern))
        options.append(st.from_regex(column.pattern.pattern).map(lambda s: s + "0"))
        options.append(st.from_regex(column.pattern.pattern).map(lambda s: "0" + s))
    if column.max_length is not None:
        edge = st.integers(column.max_length - 1, column.max_length + 1)
        options.append(edge.map(lambda n: "x" * n))
    return st.one_of(options)


@st.composite
def column_and_values(draw: st.DrawFn) -> tuple[str, Column, Draft202012Validator, list[str]]:
    label, column, validator = draw(st.sampled_from(COLUMNS))
    values = draw(st.lists(values_for(column), min_size=1, max_size=6))
    return label, column, validator, values


@settings(max_examples=500, deadline=None)
@given(case=column_and_values())
def test_fast_checks_and_jsonschema_agree(
    case: tuple[str, Column, Draft202012Validator, list[str]],
) -> None:
    label, column, validator, values = case
    present = [v for v in values if v]  # an empty cell is an absent key, judged elsewhere
    for value in present:
        assert (column.problem(value) is None) == validator.is_valid(value), (label, value)
    all_valid = all(validator.is_valid(v) for v in present)
    one_per_line = not any("\n" in v for v in values)
    whole = column.passes(values, one_per_line=one_per_line)
    if whole:
        assert all_valid, (label, values)
    if all_valid and one_per_line:
        assert whole, (label, values)


def test_every_column_gets_generated_values() -> None:
    assert len(COLUMNS) == sum(len(schemas.load_schema(t)["properties"]) for t in schemas.TEMPLATES)
