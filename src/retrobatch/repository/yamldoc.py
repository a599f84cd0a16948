"""Safe YAML loading that remembers where each value stood.

Manifests and settings are written by people, so every problem must point at a line. PyYAML's
plain loaders forget node positions and silently keep the last of two equal keys; this loader
walks the composed node graph itself, recording the position of every value, reporting every
duplicate key, and refusing alias expansion beyond a budget (a "billion laughs" document).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
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


class _Refused(Exception):
    def __init__(self, problem: YamlProblem) -> None:
        self.problem = problem


# Characters YAML forbids in a stream (C0 controls but tab and line ends, DEL, C1 but NEL,
# surrogates, U+FFFE/U+FFFF): PyYAML raises on them before any position is known to us.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# Deeper than any file of retrobatch's needs (a receipt nests 4 levels); PyYAML composes
# recursively, so thousands of levels would exhaust Python's stack.
MAX_DEPTH = 32
# An integer longer than this is no id or size retrobatch uses (event types have 10 digits),
# and Python refuses to convert one over 4,300 digits.
MAX_INT_DIGITS = 20
# Bytes of a YAML file, read no further: a manifest or the settings take a few hundred, a
# receipt at most some megabytes (1,000 impact.com errors a part). Parsing 20 MB of YAML takes
# seconds, so a larger file is refused before it is read.
MAX_DOCUMENT_BYTES = 1 << 20
MAX_RECEIPT_BYTES = 16 << 20


class TooLarge(OSError):
    """A file past its size limit; read as far as the limit only."""


def read_capped(path: Path, *, receipt: bool = False) -> bytes:
    """The file's bytes, or TooLarge (an OSError, so "cannot read" says it) past its limit."""
    limit = MAX_RECEIPT_BYTES if receipt else MAX_DOCUMENT_BYTES
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"larger than {limit:,} bytes, more than any such file needs: not read")
    return data


def _control_character(text: str) -> YamlProblem | None:
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return YamlProblem(
        "syntax",
        f"control character U+{ord(found.group()):04X} at column {column} is not allowed",
        line,
        column,
    )


def _too_deep(text: str) -> YamlProblem | None:
    """Nesting deeper than MAX_DEPTH, found from parser events (which do not recurse)."""
    import yaml

    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return YamlProblem(
                        "syntax",
                        f"values nest deeper than {MAX_DEPTH} levels",
                        mark.line + 1,
                        mark.column + 1,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # the loader reports the syntax error with its place
    return None


def load_yaml(text: str) -> YamlDoc:
    """Load one YAML document; syntax problems come back in `problems` with `data` None."""
    import yaml  # here, not at the top: a command whose files are all cached never needs it

    refused = _control_character(text) or _too_deep(text)
    if refused is not None:
        return YamlDoc(None, problems=[refused])
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
    except _Refused as exc:
        return YamlDoc(None, problems=[exc.problem])
    except yaml.YAMLError as exc:  # a scalar that its tag cannot construct, e.g. a bad !!int
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return YamlDoc(None, problems=[YamlProblem("syntax", str(problem), line, col)])
    return doc


def _build(
    loader: yaml.SafeLoader, node: yaml.Node, path: Path_, doc: YamlDoc, budget: list[int]
) -> object:
    import yaml

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
    if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_INT_DIGITS:
        mark = node.start_mark
        raise _Refused(
            YamlProblem(
                "syntax",
                f"an integer of {len(node.value):,} characters (at most {MAX_INT_DIGITS})",
                mark.line + 1,
                mark.column + 1,
            )
        )
    return loader.construct_object(node)
