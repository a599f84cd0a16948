"""Safe YAML loading that remembers where each value stood.

Manifests and settings are written by people, so every problem must point at a line. PyYAML's
plain loaders forget node positions and silently keep the last of two equal keys; this loader
walks the composed node graph itself, recording the position of every value, reporting every
duplicate key, and refusing alias expansion beyond a budget (a "billion laughs" document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import yaml

Path_ = tuple[str | int, ...]
MAX_NODES = 100_000
_PLAIN_COLLECTIONS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


@dataclass(frozen=True)
class YamlProblem:
    kind: Literal["syntax", "duplicate-key"]
    message: str
    line: int | None
    column: int | None


@dataclass
class YamlDoc:
    """The loaded value and, for each path into it, the 1-based (line, column) of its node."""

    data: object
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)

    def line_of(self, path: Path_) -> int | None:
        """The line of the deepest recorded node on `path` (a missing key points at its parent)."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark:
                return mark[0]
        return None


class _TooLarge(Exception):
    pass


def load_yaml(text: str) -> YamlDoc:
    """Load one YAML document; syntax problems come back in `problems` with `data` None."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "not valid YAML"
        if "mapping values are not allowed here" in message:
            message += (
                ": a value holds ': ' – quote the value ('like: this') or write it without a colon"
            )
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return YamlDoc(None, problems=[YamlProblem("syntax", message, line, col)])
    except yaml.YAMLError as exc:
        return YamlDoc(None, problems=[YamlProblem("syntax", str(exc).splitlines()[0], None, None)])
    finally:
        loader.dispose()
    doc = YamlDoc(None)
    if node is None:
        return doc
    budget = [MAX_NODES]
    try:
        doc.data = _build(loader, node, (), doc, budget)
    except _TooLarge:
        return YamlDoc(
            None,
            problems=[
                YamlProblem(
                    "syntax",
                    f"the document expands to more than {MAX_NODES:,} values (aliases)",
                    node.start_mark.line + 1,
                    1,
                )
            ],
        )
    except yaml.YAMLError as exc:  # a scalar that its tag cannot construct, e.g. a bad !!int
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return YamlDoc(None, problems=[YamlProblem("syntax", str(problem), line, col)])
    return doc


def _build(
    loader: yaml.SafeLoader, node: yaml.Node, path: Path_, doc: YamlDoc, budget: list[int]
) -> object:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
    doc.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_COLLECTIONS:
        raise yaml.constructor.ConstructorError(
            None, None, f"tag {node.tag!r} is not allowed", node.start_mark
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[str, object] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                doc.problems.append(
                    YamlProblem(
                        "syntax",
                        "a mapping key must be a plain value",
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                )
                continue
            # Keys are always strings: event type ids read the same quoted or not, as written.
            if key_node.tag == "tag:yaml.org,2002:int":
                hashable: str = key_node.value
            else:
                hashable = str(loader.construct_object(key_node))
            line = key_node.start_mark.line + 1
            if hashable in seen:
                doc.problems.append(
                    YamlProblem(
                        "duplicate-key",
                        f"key {hashable!r} appears again (first on line {seen[hashable]})",
                        line,
                        key_node.start_mark.column + 1,
                    )
                )
            seen[hashable] = line
            result[hashable] = _build(loader, value_node, (*path, hashable), doc, budget)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), doc, budget) for i, item in enumerate(node.value)]
    return loader.construct_object(node)
