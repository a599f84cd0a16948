from retrobatch.repository.yamldoc import MAX_NODES, load_yaml


def test_values_and_their_lines() -> None:
    doc = load_yaml("id: x\ncc:\n  - a@b.example\n  - c@d.example\n")
    assert doc.data == {"id": "x", "cc": ["a@b.example", "c@d.example"]}
    assert doc.line_of(("cc", 1)) == 4
    assert doc.line_of(("missing",)) == 1  # a missing key points at its parent


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    doc = load_yaml("id: a\nfile: x.csv\nid: b\n")
    [problem] = doc.problems
    assert problem.kind == "duplicate-key"
    assert problem.line == 3
    assert "first on line 1" in problem.message


def test_syntax_error_has_a_line() -> None:
    doc = load_yaml("id: a\nfile: [x.csv\n")
    assert doc.data is None
    assert doc.problems[0].kind == "syntax"
    assert doc.problems[0].line is not None


def test_integer_keys_read_as_written() -> None:
    doc = load_yaml("12345: a\n'67890': b\n")
    assert doc.data == {"12345": "a", "67890": "b"}


def test_alias_bomb_is_refused() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[i]
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    doc = load_yaml("\n".join(lines) + "\n")
    assert doc.data is None
    assert f"{MAX_NODES:,}" in doc.problems[0].message


def test_python_tags_are_not_constructed() -> None:
    doc = load_yaml("x: !!python/object/apply:os.system ['true']\n")
    assert doc.data is None
    assert doc.problems[0].kind == "syntax"


def test_multiple_documents_are_a_syntax_problem() -> None:
    doc = load_yaml("a: 1\n---\nb: 2\n")
    assert doc.data is None and doc.problems[0].kind == "syntax"
